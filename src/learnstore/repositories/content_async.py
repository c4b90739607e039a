"""The content domain: courses, their units and lessons in order, media, quizzes and quiz attempts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any
from uuid import UUID

import psycopg
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from learnstore._validation import (
    UNSET,
    Unset,
    acting_user,
    checked_position,
    checked_quiz,
    listed,
    validated,
)
from learnstore.database_async import AsyncDatabase
from learnstore.errors import InvalidValue, NotFound, register_messages, translating
from learnstore.queries.content import AsyncQuerier
from learnstore.queries.models import (
    CountLessonQuizzesPassedRow,
    Course,
    Lesson,
    ListCourseCollaboratorsRow,
    Media,
    Quiz,
    QuizAttempt,
    Unit,
)
from learnstore.types import (
    CONTENT_MODELS,
    INT_MAX,
    AudioContent,
    ContentType,
    CourseStatus,
    Difficulty,
    ExerciseContent,
    LessonContent,
    MediaType,
    QuestionType,
    Seconds,
    TextContent,
    Title,
    Url,
    VideoContent,
)

__all__ = [
    "AsyncContentRepository",
    "AudioContent",
    "ContentType",
    "CourseStatus",
    "CourseTree",
    "Difficulty",
    "ExerciseContent",
    "LessonNode",
    "MediaType",
    "QuestionType",
    "TextContent",
    "UnitNode",
    "VideoContent",
]

register_messages(
    {
        "courses_author_clerk_id_fkey": "author_clerk_id: no user with this clerk_id",
        "courses_language_id_fkey": "language_id: no such language",
        "courses_title_not_blank": "title must not be blank and be at most 200 characters",
        "units_title_not_blank": "title must not be blank and be at most 200 characters",
        "lessons_title_not_blank": "title must not be blank and be at most 200 characters",
        "lessons_content_shape": (
            "content does not fit content_type: video and audio need a url, text a body, exercise a prompt"
        ),
        "lessons_move_same_course": "unit_id: a lesson moves only between units of its own course",
        "media_lesson_id_fkey": "lesson_id: no lesson with this id",
        "media_url_format": "url must be an http(s) URL of at most 2048 characters",
        "quizzes_lesson_id_fkey": "lesson_id: no lesson with this id",
        "quizzes_mcq_has_options": "a multiple-choice quiz needs at least 2 options",
        "quiz_attempts_user_clerk_id_fkey": "clerk_id: no user with this clerk_id",
        "quiz_attempts_answer_shape": "answer must be a string, a number or an array, of at most 10000 bytes",
    }
)


def _content(content_type: object, content: object) -> tuple[str, dict[str, Any]]:
    """(content_type, content as stored), validated together: the shape depends on the type."""
    if not isinstance(content_type, str) or content_type not in CONTENT_MODELS:
        raise InvalidValue(
            f"content_type: must be one of {', '.join(CONTENT_MODELS)}, not {content_type!r}",
            field="content_type",
        )
    kind = content_type
    model = CONTENT_MODELS[kind]
    if isinstance(content, LessonContent) and not isinstance(content, model):
        raise InvalidValue(
            f"content: a {type(content).__name__} is not the content of a {kind} lesson "
            f"(expected {model.__name__})",
            field="content",
        )
    if isinstance(content, BaseModel):
        content = content.model_dump()
    checked = validated(model, content, "content")
    return kind, checked.model_dump(mode="json", exclude_none=True)


# -- other inputs ------------------------------------------------------------------------------


class _CourseFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: str | None = Field(default=None, max_length=20_000)
    difficulty: Difficulty | None = None
    estimated_duration_minutes: Annotated[StrictInt, Field(gt=0, le=INT_MAX)] | None = None
    learning_objectives: (
        Annotated[
            list[Annotated[str, Field(min_length=1, max_length=500, pattern=r"\S")]], Field(max_length=50)
        ]
        | None
    ) = None
    cover_image_url: Url | None = None
    language_id: UUID | None = None
    # Strict: 0 is not False (it was stored as False: found by the hostile sweep).
    open_to_collaboration: StrictBool | None = None


class _UnitFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: str | None = Field(default=None, max_length=20_000)


class _LessonFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    duration_seconds: Seconds | None = None


class _MediaInput(BaseModel):
    media_type: MediaType
    url: Url
    title: str | None = Field(default=None, max_length=200)


class _AttemptInput(BaseModel):
    # What a learner may answer: a string (an option, a word), a number, or a list of options.
    answer: (
        Annotated[StrictStr, Field(max_length=2000)]
        | StrictInt
        | StrictFloat
        | Annotated[list[Annotated[StrictStr, Field(max_length=500)]], Field(max_length=20)]
    )


def _given(values: Mapping[str, object]) -> dict[str, object]:
    return {name: value for name, value in values.items() if not isinstance(value, Unset)}


def _not_cleared(given: Mapping[str, object], *names: str) -> None:
    for name in names:
        if name in given and given[name] is None:
            raise InvalidValue(f"{name} cannot be cleared (None)", field=name)


# -- the course tree ----------------------------------------------------------------------------


class LessonNode(BaseModel):
    """A lesson in a course tree: what a table of contents shows (the content itself is not here)."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    title: str
    content_type: ContentType
    duration_seconds: int | None
    position: int
    media_count: int
    quiz_count: int


class UnitNode(BaseModel):
    """A unit in a course tree, with its lessons in order."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    title: str
    description: str
    position: int
    lessons: list[LessonNode]


class CourseTree(BaseModel):
    """A course with its units in order, each with its lessons in order."""

    model_config = ConfigDict(frozen=True)

    course: Course
    units: list[UnitNode]

    def lessons(self) -> list[LessonNode]:
        """Every lesson of the course, in reading order."""
        return [lesson for unit in self.units for lesson in unit.lessons]


class AsyncContentRepository:
    """Courses and everything under them. Every method is one transaction, one statement.

    The methods that change a course take `acting_clerk_id`: given, the change is refused with
    `PermissionDenied` unless that user is the course's author or an accepted editor (the check
    and the change are one transaction of two statements). Left out, the caller is trusted; under
    `as_user` it is the acting user (another id is `PermissionDenied`), and PostgreSQL's policies
    refuse a non-editor's change whatever the caller passes.
    """

    __slots__ = ("_db",)

    def __init__(self, db: AsyncDatabase) -> None:
        self._db = db

    @asynccontextmanager
    async def _changing(
        self,
        acting_clerk_id: str | None,
        *,
        course_id: UUID | None = None,
        unit_id: UUID | None = None,
        lesson_id: UUID | None = None,
        media_id: UUID | None = None,
        quiz_id: UUID | None = None,
    ) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """The connection for a change of a course. Without an acting user (a trusted caller) it is
        the usual one-statement operation; with one, a transaction that first checks that the user
        may change the course the id belongs to (its author or an accepted editor, else
        `PermissionDenied`) and holds what allows it until the change commits. Under `as_user` the
        acting user is the identity, whether `acting_clerk_id` is given or not."""
        identity = self._db.identity
        acting_clerk_id = acting_user(identity.clerk_id if identity else None, acting_clerk_id)
        if acting_clerk_id is None:
            async with self._db.connection() as conn:
                yield conn
            return
        if not isinstance(acting_clerk_id, str) or not acting_clerk_id.strip() or len(acting_clerk_id) > 64:
            raise InvalidValue(
                f"acting_clerk_id: must be a user's clerk_id, not {acting_clerk_id!r}",
                field="acting_clerk_id",
            )
        async with self._db.transaction() as conn:
            querier = AsyncQuerier(conn)
            # Errors of the check and of the change itself (thrown in at the yield) leave as
            # learnstore errors, and roll the transaction back.
            with translating():
                await querier.authorize_course_change(
                    course_id=course_id,
                    unit_id=unit_id,
                    lesson_id=lesson_id,
                    media_id=media_id,
                    quiz_id=quiz_id,
                    clerk_id=acting_clerk_id,
                )
                yield conn

    # -- courses ------------------------------------------------------------------------------

    async def create_course(
        self,
        author_clerk_id: str,
        title: str,
        *,
        description: str = "",
        difficulty: Difficulty = "beginner",
        estimated_duration_minutes: int | None = None,
        learning_objectives: Sequence[str] = (),
        cover_image_url: str | None = None,
        language_id: UUID | None = None,
        open_to_collaboration: bool = False,
    ) -> Course:
        """Create a course as a draft; an unknown author or language is `InvalidReference`."""
        if not isinstance(author_clerk_id, str) or not author_clerk_id.strip() or len(author_clerk_id) > 64:
            raise InvalidValue(
                f"author_clerk_id: must be a user's clerk_id, not {author_clerk_id!r}",
                field="author_clerk_id",
            )
        fields = validated(
            _CourseFields,
            {
                "title": title,
                "description": description,
                "difficulty": difficulty,
                "estimated_duration_minutes": estimated_duration_minutes,
                "learning_objectives": listed(learning_objectives),
                "cover_image_url": cover_image_url,
                "language_id": language_id,
                "open_to_collaboration": open_to_collaboration,
            },
            "course",
        )
        required = ("title", "description", "difficulty", "learning_objectives", "open_to_collaboration")
        _not_cleared(fields.model_dump(), *required)
        assert fields.title is not None and fields.description is not None and fields.difficulty is not None
        async with self._db.connection() as conn:
            course = await AsyncQuerier(conn).create_course(
                author_clerk_id=author_clerk_id,
                title=fields.title,
                description=fields.description,
                difficulty=fields.difficulty,
                estimated_duration_minutes=fields.estimated_duration_minutes,
                learning_objectives=fields.learning_objectives or [],
                cover_image_url=fields.cover_image_url,
                language_id=fields.language_id,
                open_to_collaboration=bool(fields.open_to_collaboration),
            )
        assert course is not None
        return course

    async def get_course(self, course_id: UUID) -> Course:
        """The course with this id, whatever its status; `NotFound` if there is none."""
        course = await self.get_course_or_none(course_id)
        if course is None:
            raise NotFound(f"no course with id {course_id}", field="course_id")
        return course

    async def get_course_or_none(self, course_id: UUID) -> Course | None:
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).get_course(id=course_id)

    async def update_course(
        self,
        course_id: UUID,
        *,
        title: str | Unset = UNSET,
        description: str | Unset = UNSET,
        difficulty: Difficulty | Unset = UNSET,
        estimated_duration_minutes: int | Unset | None = UNSET,
        learning_objectives: Sequence[str] | Unset = UNSET,
        cover_image_url: str | Unset | None = UNSET,
        language_id: UUID | Unset | None = UNSET,
        open_to_collaboration: bool | Unset = UNSET,
        acting_clerk_id: str | None = None,
    ) -> Course:
        """Change the fields given; leave one out to keep it, pass None to clear a nullable one."""
        given = _given(
            {
                "title": title,
                "description": description,
                "difficulty": difficulty,
                "estimated_duration_minutes": estimated_duration_minutes,
                "learning_objectives": learning_objectives,
                "cover_image_url": cover_image_url,
                "language_id": language_id,
                "open_to_collaboration": open_to_collaboration,
            }
        )
        _not_cleared(
            given, "title", "description", "difficulty", "learning_objectives", "open_to_collaboration"
        )
        if "learning_objectives" in given:
            given["learning_objectives"] = listed(given["learning_objectives"])
        fields = validated(_CourseFields, given, "course")
        async with self._changing(acting_clerk_id, course_id=course_id) as conn:
            course = await AsyncQuerier(conn).update_course(
                id=course_id,
                title=fields.title,
                description=fields.description,
                difficulty=fields.difficulty,
                estimated_duration_minutes_set="estimated_duration_minutes" in given,
                estimated_duration_minutes=fields.estimated_duration_minutes,
                learning_objectives=fields.learning_objectives,
                cover_image_url_set="cover_image_url" in given,
                cover_image_url=fields.cover_image_url,
                language_id_set="language_id" in given,
                language_id=fields.language_id,
                open_to_collaboration=fields.open_to_collaboration,
            )
        if course is None:
            raise NotFound(f"no course with id {course_id}", field="course_id")
        return course

    async def publish_course(self, course_id: UUID, *, acting_clerk_id: str | None = None) -> Course:
        """Publish a course (sets published_at; publishing again keeps the first date)."""
        async with self._changing(acting_clerk_id, course_id=course_id) as conn:
            course = await AsyncQuerier(conn).publish_course(id=course_id)
        if course is None:
            raise NotFound(f"no course with id {course_id}", field="course_id")
        return course

    async def unpublish_course(self, course_id: UUID, *, acting_clerk_id: str | None = None) -> Course:
        """Take a course back to draft (published_at becomes NULL)."""
        async with self._changing(acting_clerk_id, course_id=course_id) as conn:
            course = await AsyncQuerier(conn).unpublish_course(id=course_id)
        if course is None:
            raise NotFound(f"no course with id {course_id}", field="course_id")
        return course

    async def archive_course(self, course_id: UUID, *, acting_clerk_id: str | None = None) -> Course:
        """Archive a course: hidden from learners, content kept; publish it again to bring it back."""
        async with self._changing(acting_clerk_id, course_id=course_id) as conn:
            course = await AsyncQuerier(conn).archive_course(id=course_id)
        if course is None:
            raise NotFound(f"no course with id {course_id}", field="course_id")
        return course

    async def delete_course(self, course_id: UUID, *, acting_clerk_id: str | None = None) -> bool:
        """Delete a course and everything under it (units, lessons, media, quizzes, attempts,
        enrolments, progress, forum threads, feedback...). False if there was no such course."""
        async with self._changing(acting_clerk_id, course_id=course_id) as conn:
            return await AsyncQuerier(conn).delete_course(id=course_id) > 0

    async def list_author_courses(
        self, author_clerk_id: str, *, status: CourseStatus | None = None
    ) -> list[Course]:
        """An author's courses, newest first; only those of `status` when given."""
        if status not in (None, "draft", "published", "archived"):
            raise InvalidValue(
                f"status: must be draft, published, archived or None, not {status!r}", field="status"
            )
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_author_courses(
                author_clerk_id=author_clerk_id, status=status
            )

    async def list_collaborators(self, course_id: UUID) -> list[ListCourseCollaboratorsRow]:
        """The users who co-manage a course besides its author, with their role, oldest first."""
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_course_collaborators(course_id=course_id)

    async def get_course_tree(self, course_id: UUID, *, include_unpublished: bool = False) -> CourseTree:
        """The course, its units and their lessons, in order, with media and quiz counts: one statement.

        Learners' view by default: `NotFound` unless the course is published. Authors pass
        `include_unpublished=True` to see a draft or archived course.
        """
        async with self._db.connection() as conn:
            tree = await AsyncQuerier(conn).get_course_tree(
                course_id=course_id, include_unpublished=include_unpublished
            )
        if tree is None:
            which = "course" if include_unpublished else "published course"
            raise NotFound(f"no {which} with id {course_id}", field="course_id")
        # Parsed once, from the server's text straight into the models (no intermediate dicts),
        # and fully validated: a document that does not fit them raises pydantic's ValidationError.
        return CourseTree.model_validate_json(tree)

    # -- units --------------------------------------------------------------------------------

    async def add_unit(
        self,
        course_id: UUID,
        title: str,
        *,
        description: str = "",
        position: int | None = None,
        acting_clerk_id: str | None = None,
    ) -> Unit:
        """Add a unit at `position` (0-based; None: at the end), shifting the units after it.

        A position past the end is `InvalidValue` (field `position`); an unknown course `NotFound`.
        """
        fields = validated(_UnitFields, {"title": title, "description": description}, "unit")
        at = checked_position(position)
        if fields.title is None:  # the fields are shared with update_unit, where None means "keep"
            raise InvalidValue("unit.title: a unit needs a title", field="title")
        if fields.description is None:
            raise InvalidValue("unit.description: a string (empty for none), not None", field="description")
        async with self._changing(acting_clerk_id, course_id=course_id) as conn:
            unit = await AsyncQuerier(conn).add_unit(
                course_id=course_id, title=fields.title, description=fields.description, position=at
            )
        assert unit is not None
        return unit

    async def get_unit(self, unit_id: UUID) -> Unit:
        async with self._db.connection() as conn:
            unit = await AsyncQuerier(conn).get_unit(id=unit_id)
        if unit is None:
            raise NotFound(f"no unit with id {unit_id}", field="unit_id")
        return unit

    async def update_unit(
        self,
        unit_id: UUID,
        *,
        title: str | Unset = UNSET,
        description: str | Unset = UNSET,
        acting_clerk_id: str | None = None,
    ) -> Unit:
        """Change a unit's title and/or description."""
        given = _given({"title": title, "description": description})
        _not_cleared(given, "title", "description")
        fields = validated(_UnitFields, given, "unit")
        async with self._changing(acting_clerk_id, unit_id=unit_id) as conn:
            unit = await AsyncQuerier(conn).update_unit(
                id=unit_id, title=fields.title, description=fields.description
            )
        if unit is None:
            raise NotFound(f"no unit with id {unit_id}", field="unit_id")
        return unit

    async def move_unit(
        self, unit_id: UUID, position: int | None, *, acting_clerk_id: str | None = None
    ) -> Unit:
        """Move a unit to `position` in its course (None: the last), shifting the units between."""
        at = checked_position(position)
        async with self._changing(acting_clerk_id, unit_id=unit_id) as conn:
            unit = await AsyncQuerier(conn).move_unit(unit_id=unit_id, position=at)
        assert unit is not None
        return unit

    async def delete_unit(self, unit_id: UUID, *, acting_clerk_id: str | None = None) -> bool:
        """Delete a unit and its lessons, closing the gap; False if there was no such unit."""
        async with self._changing(acting_clerk_id, unit_id=unit_id) as conn:
            return bool(await AsyncQuerier(conn).delete_unit(unit_id=unit_id))

    async def list_units(self, course_id: UUID) -> list[Unit]:
        """A course's units, in order."""
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_course_units(course_id=course_id)

    # -- lessons ------------------------------------------------------------------------------

    async def add_lesson(
        self,
        unit_id: UUID,
        title: str,
        content_type: ContentType,
        content: Mapping[str, Any] | BaseModel,
        *,
        duration_seconds: int | None = None,
        position: int | None = None,
        acting_clerk_id: str | None = None,
    ) -> Lesson:
        """Add a lesson at `position` in a unit (0-based; None: at the end), shifting the lessons after it.

        `content` must fit `content_type` (see VideoContent, AudioContent, TextContent, ExerciseContent).
        """
        fields = validated(_LessonFields, {"title": title, "duration_seconds": duration_seconds}, "lesson")
        kind, body = _content(content_type, content)
        at = checked_position(position)
        if fields.title is None:  # the fields are shared with update_lesson, where None means "keep"
            raise InvalidValue("lesson.title: a lesson needs a title", field="title")
        async with self._changing(acting_clerk_id, unit_id=unit_id) as conn:
            lesson = await AsyncQuerier(conn).add_lesson(
                unit_id=unit_id,
                title=fields.title,
                content_type=kind,
                content=body,
                duration_seconds=fields.duration_seconds,
                position=at,
            )
        assert lesson is not None
        return lesson

    async def get_lesson(self, lesson_id: UUID) -> Lesson:
        lesson = await self.get_lesson_or_none(lesson_id)
        if lesson is None:
            raise NotFound(f"no lesson with id {lesson_id}", field="lesson_id")
        return lesson

    async def get_lesson_or_none(self, lesson_id: UUID) -> Lesson | None:
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).get_lesson(id=lesson_id)

    async def update_lesson(
        self,
        lesson_id: UUID,
        *,
        title: str | Unset = UNSET,
        content_type: ContentType | Unset = UNSET,
        content: Mapping[str, Any] | BaseModel | Unset = UNSET,
        duration_seconds: int | Unset | None = UNSET,
        acting_clerk_id: str | None = None,
    ) -> Lesson:
        """Change the fields given. `content_type` and `content` go together: the content is
        validated against the type, so changing either means passing both."""
        given = _given({"title": title, "duration_seconds": duration_seconds})
        _not_cleared(given, "title")
        fields = validated(_LessonFields, given, "lesson")
        content_set = not isinstance(content, Unset)
        if content_set != (not isinstance(content_type, Unset)):
            missing = "content_type" if content_set else "content"
            raise InvalidValue(
                f"{missing}: content and content_type are changed together (pass both)", field=missing
            )
        kind, body = _content(content_type, content) if content_set else ("", {})
        async with self._changing(acting_clerk_id, lesson_id=lesson_id) as conn:
            lesson = await AsyncQuerier(conn).update_lesson(
                id=lesson_id,
                title=fields.title,
                duration_seconds_set="duration_seconds" in given,
                duration_seconds=fields.duration_seconds,
                content_set=content_set,
                content_type=kind,
                content=body,
            )
        if lesson is None:
            raise NotFound(f"no lesson with id {lesson_id}", field="lesson_id")
        return lesson

    async def move_lesson(
        self,
        lesson_id: UUID,
        position: int | None = None,
        *,
        unit_id: UUID | None = None,
        acting_clerk_id: str | None = None,
    ) -> Lesson:
        """Move a lesson to `position` (None: the end) in `unit_id` (None: its own unit).

        The target unit must belong to the lesson's course: another course's unit is
        `InvalidReference` (field `unit_id`, constraint `lessons_move_same_course`).
        """
        at = checked_position(position)
        async with self._changing(acting_clerk_id, lesson_id=lesson_id) as conn:
            lesson = await AsyncQuerier(conn).move_lesson(lesson_id=lesson_id, unit_id=unit_id, position=at)
        assert lesson is not None
        return lesson

    async def delete_lesson(self, lesson_id: UUID, *, acting_clerk_id: str | None = None) -> bool:
        """Delete a lesson with its media, quizzes and attempts, closing the gap; False if none."""
        async with self._changing(acting_clerk_id, lesson_id=lesson_id) as conn:
            return bool(await AsyncQuerier(conn).delete_lesson(lesson_id=lesson_id))

    async def list_lessons(self, unit_id: UUID) -> list[Lesson]:
        """A unit's lessons, in order."""
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_unit_lessons(unit_id=unit_id)

    # -- media --------------------------------------------------------------------------------

    async def add_media(
        self,
        lesson_id: UUID,
        media_type: MediaType,
        url: str,
        *,
        title: str | None = None,
        acting_clerk_id: str | None = None,
    ) -> Media:
        """Attach a file (audio, image, other) to a lesson; an unknown lesson is `InvalidReference`."""
        media = validated(_MediaInput, {"media_type": media_type, "url": url, "title": title}, "media")
        async with self._changing(acting_clerk_id, lesson_id=lesson_id) as conn:
            created = await AsyncQuerier(conn).add_media(
                lesson_id=lesson_id, media_type=media.media_type, url=media.url, title=media.title
            )
        assert created is not None
        return created

    async def list_media(self, lesson_id: UUID) -> list[Media]:
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_lesson_media(lesson_id=lesson_id)

    async def delete_media(self, media_id: UUID, *, acting_clerk_id: str | None = None) -> bool:
        """Delete a file, closing the gap it leaves; False if there was no such file."""
        async with self._changing(acting_clerk_id, media_id=media_id) as conn:
            return bool(await AsyncQuerier(conn).delete_media(id=media_id))

    # -- quizzes ------------------------------------------------------------------------------

    async def add_quiz(
        self,
        lesson_id: UUID,
        question_type: QuestionType,
        question: str,
        correct_answer: str | Sequence[str],
        *,
        options: Sequence[str] = (),
        acting_clerk_id: str | None = None,
    ) -> Quiz:
        """Attach a quiz to a lesson. mcq: at least 2 distinct options, the correct answer one of
        them (or a list of them, when several are right); flashcard: no options, one answer;
        fill_blank: an answer or a list of accepted answers (options: an optional word bank)."""
        quiz = checked_quiz(question_type, question, options, listed(correct_answer))
        async with self._changing(acting_clerk_id, lesson_id=lesson_id) as conn:
            created = await AsyncQuerier(conn).add_quiz(
                lesson_id=lesson_id,
                question=quiz.question,
                question_type=quiz.question_type,
                options=list(quiz.options),
                correct_answer=quiz.correct_answer
                if isinstance(quiz.correct_answer, str)
                else list(quiz.correct_answer),
            )
        assert created is not None
        return created

    async def get_quiz(self, quiz_id: UUID) -> Quiz:
        async with self._db.connection() as conn:
            quiz = await AsyncQuerier(conn).get_quiz(id=quiz_id)
        if quiz is None:
            raise NotFound(f"no quiz with id {quiz_id}", field="quiz_id")
        return quiz

    async def list_quizzes(self, lesson_id: UUID) -> list[Quiz]:
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_lesson_quizzes(lesson_id=lesson_id)

    async def delete_quiz(self, quiz_id: UUID, *, acting_clerk_id: str | None = None) -> bool:
        """Delete a quiz and its attempts, closing the gap it leaves; False if there was no such quiz."""
        async with self._changing(acting_clerk_id, quiz_id=quiz_id) as conn:
            return bool(await AsyncQuerier(conn).delete_quiz(id=quiz_id))

    async def record_quiz_attempt(
        self, quiz_id: UUID, clerk_id: str, answer: str | float | Sequence[str]
    ) -> QuizAttempt:
        """Score a learner's answer and record it, in one statement; the attempt says `is_correct`.

        mcq: the option (or the list of options, in any order); flashcard and fill_blank: the text,
        compared ignoring case and extra whitespace.
        """
        checked = validated(_AttemptInput, {"answer": listed(answer)}, "attempt").answer
        async with self._db.connection() as conn:
            attempt = await AsyncQuerier(conn).record_quiz_attempt(
                quiz_id=quiz_id,
                user_clerk_id=clerk_id,
                answer=list(checked) if isinstance(checked, list) else checked,
            )
        if attempt is None:
            raise NotFound(f"no quiz with id {quiz_id}", field="quiz_id")
        return attempt

    async def list_quiz_attempts(self, quiz_id: UUID, clerk_id: str) -> list[QuizAttempt]:
        """A learner's attempts at a quiz, newest first."""
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_quiz_attempts(quiz_id=quiz_id, user_clerk_id=clerk_id)

    async def count_lesson_quizzes_passed(
        self, clerk_id: str, lesson_id: UUID
    ) -> CountLessonQuizzesPassedRow:
        """(quizzes, passed): the lesson's quizzes, and how many the learner answered right at least once."""
        async with self._db.connection() as conn:
            counts = await AsyncQuerier(conn).count_lesson_quizzes_passed(
                user_clerk_id=clerk_id, lesson_id=lesson_id
            )
        if counts is None:
            raise NotFound(f"no lesson with id {lesson_id}", field="lesson_id")
        return counts

    async def has_passed_lesson_quizzes(self, clerk_id: str, lesson_id: UUID) -> bool:
        """True when the learner answered every quiz of the lesson correctly at least once
        (a lesson without quizzes is passed)."""
        counts = await self.count_lesson_quizzes_passed(clerk_id, lesson_id)
        return counts.passed == counts.quizzes
