"""The SQLAlchemy 2 ORM peer: declarative models of the tables the hot operations need, and each
operation written the way the ORM's documentation teaches (a Session per unit of work,
relationships, selectinload / joinedload, the unit of work flushing changes)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ARRAY,
    Column,
    ForeignKey,
    Table,
    Text,
    and_,
    desc,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    joinedload,
    mapped_column,
    relationship,
    selectinload,
)
from sqlalchemy.sql.elements import ColumnElement


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    clerk_id: Mapped[str] = mapped_column(unique=True)
    email: Mapped[str | None]
    first_name: Mapped[str | None]
    last_name: Mapped[str | None]
    avatar_url: Mapped[str | None]
    bio: Mapped[str | None]
    timezone: Mapped[str]
    clerk_updated_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Notification(Base):
    __tablename__ = "notifications"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    user_clerk_id: Mapped[str] = mapped_column(ForeignKey("users.clerk_id"))
    type: Mapped[str]
    message: Mapped[str]
    source_id: Mapped[UUID | None]
    source_type: Mapped[str | None]
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB)
    read_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Language(Base):
    __tablename__ = "languages"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    code: Mapped[str]
    name: Mapped[str]


course_tags = Table(
    "course_tags",
    Base.metadata,
    Column("course_id", ForeignKey("courses.id"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id"), primary_key=True),
)


class Tag(Base):
    __tablename__ = "tags"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    name: Mapped[str]


class Course(Base):
    __tablename__ = "courses"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    author_clerk_id: Mapped[str | None] = mapped_column(ForeignKey("users.clerk_id"))
    title: Mapped[str]
    description: Mapped[str]
    difficulty: Mapped[str]
    estimated_duration_minutes: Mapped[int | None]
    learning_objectives: Mapped[list[str]] = mapped_column(ARRAY(Text))
    cover_image_url: Mapped[str | None]
    language_id: Mapped[UUID | None] = mapped_column(ForeignKey("languages.id"))
    status: Mapped[str]
    published_at: Mapped[datetime | None]
    open_to_collaboration: Mapped[bool]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    units: Mapped[list[Unit]] = relationship(order_by="Unit.position", back_populates="course")
    language: Mapped[Language | None] = relationship()
    tags: Mapped[list[Tag]] = relationship(secondary=course_tags, order_by=func.lower(Tag.name))


class Unit(Base):
    __tablename__ = "units"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    course_id: Mapped[UUID] = mapped_column(ForeignKey("courses.id"))
    title: Mapped[str]
    description: Mapped[str]
    position: Mapped[int]
    course: Mapped[Course] = relationship(back_populates="units")
    lessons: Mapped[list[Lesson]] = relationship(order_by="Lesson.position", back_populates="unit")


class Lesson(Base):
    __tablename__ = "lessons"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    unit_id: Mapped[UUID] = mapped_column(ForeignKey("units.id"))
    title: Mapped[str]
    content_type: Mapped[str]
    content: Mapped[dict[str, Any]] = mapped_column(JSONB)
    duration_seconds: Mapped[int | None]
    position: Mapped[int]
    unit: Mapped[Unit] = relationship(back_populates="lessons")
    media: Mapped[list[Media]] = relationship()
    quizzes: Mapped[list[Quiz]] = relationship()


class Media(Base):
    __tablename__ = "media"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    lesson_id: Mapped[UUID] = mapped_column(ForeignKey("lessons.id"))
    media_type: Mapped[str]
    url: Mapped[str]
    title: Mapped[str | None]


class Quiz(Base):
    __tablename__ = "quizzes"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    lesson_id: Mapped[UUID] = mapped_column(ForeignKey("lessons.id"))
    question: Mapped[str]
    question_type: Mapped[str]


class UserCourse(Base):
    __tablename__ = "user_courses"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    user_clerk_id: Mapped[str] = mapped_column(ForeignKey("users.clerk_id"))
    course_id: Mapped[UUID] = mapped_column(ForeignKey("courses.id"))
    enrolled_at: Mapped[datetime]
    progress: Mapped[int]
    completed_at: Mapped[datetime | None]
    course: Mapped[Course] = relationship()


class UserProgress(Base):
    __tablename__ = "user_progress"
    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=func.gen_random_uuid())
    user_clerk_id: Mapped[str] = mapped_column(ForeignKey("users.clerk_id"))
    lesson_id: Mapped[UUID] = mapped_column(ForeignKey("lessons.id"))
    status: Mapped[str]
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class CourseFeedback(Base):
    __tablename__ = "course_feedback"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    course_id: Mapped[UUID] = mapped_column(ForeignKey("courses.id"))
    user_clerk_id: Mapped[str | None]
    rating: Mapped[int]
    hidden_at: Mapped[datetime | None]


class Favorite(Base):
    __tablename__ = "favorites"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    user_clerk_id: Mapped[str] = mapped_column(ForeignKey("users.clerk_id"))
    course_id: Mapped[UUID] = mapped_column(ForeignKey("courses.id"))


class UserPoints(Base):
    """A learner's points, kept by learnstore's triggers: the ORM reads it as any table."""

    __tablename__ = "user_points"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    user_clerk_id: Mapped[str] = mapped_column(ForeignKey("users.clerk_id"))
    points: Mapped[int]
    achievements: Mapped[int]
    reached_at: Mapped[datetime | None]
    user: Mapped[User] = relationship()


class CoursePoints(Base):
    """A learner's points copied onto their enrolment (migration 0032), in a course's board order."""

    __tablename__ = "course_points"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    course_id: Mapped[UUID] = mapped_column(ForeignKey("courses.id"))
    user_clerk_id: Mapped[str] = mapped_column(ForeignKey("users.clerk_id"))
    points: Mapped[int]
    reached_at: Mapped[datetime | None]


class CourseActivity(Base):
    """A course's forum events per UTC hour and shard (migration 0031)."""

    __tablename__ = "forum_course_activity"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    course_id: Mapped[UUID] = mapped_column(ForeignKey("courses.id"))
    bucket: Mapped[datetime]
    shard: Mapped[int]
    events: Mapped[int]
    events_public: Mapped[int]


# -- the operations: each takes a Session (the async runner passes AsyncSession.run_sync's) --------


def user_by_clerk_id(session: Session, clerk_id: str) -> User:
    return session.scalars(select(User).where(User.clerk_id == clerk_id)).one()


def learner_dashboard(session: Session, clerk_id: str) -> list[tuple[UserCourse, datetime]]:
    latest = (
        select(func.max(UserProgress.updated_at))
        .join(Lesson, Lesson.id == UserProgress.lesson_id)
        .join(Unit, Unit.id == Lesson.unit_id)
        .where(Unit.course_id == UserCourse.course_id, UserProgress.user_clerk_id == UserCourse.user_clerk_id)
        .correlate(UserCourse)
        .scalar_subquery()
    )
    last_activity = func.greatest(UserCourse.enrolled_at, latest).label("last_activity_at")
    rows = session.execute(
        select(UserCourse, last_activity)
        .options(joinedload(UserCourse.course))
        .where(UserCourse.user_clerk_id == clerk_id)
        .order_by(desc(last_activity), UserCourse.course_id)
    ).all()
    return [(enrolment, at) for enrolment, at in rows]


def course_tree(session: Session, course_id: UUID) -> dict[str, Any]:
    course = session.scalars(
        select(Course)
        .where(Course.id == course_id, Course.status == "published")
        .options(
            selectinload(Course.units).selectinload(Unit.lessons).selectinload(Lesson.media),
            selectinload(Course.units).selectinload(Unit.lessons).selectinload(Lesson.quizzes),
        )
    ).one()
    return {
        "course": course,
        "units": [
            {
                "unit": unit,
                "lessons": [
                    {"lesson": lesson, "media_count": len(lesson.media), "quiz_count": len(lesson.quizzes)}
                    for lesson in unit.lessons
                ],
            }
            for unit in course.units
        ],
    }


def record_lesson_status(session: Session, clerk_id: str, lesson_id: UUID, status: str) -> UserCourse:
    """Set the status and keep the enrolment's percentage, in one transaction (the unit of work)."""
    with session.begin():
        lesson = session.get_one(Lesson, lesson_id, options=[joinedload(Lesson.unit)])
        course_id = lesson.unit.course_id
        enrolment = session.scalars(
            select(UserCourse)
            .where(UserCourse.user_clerk_id == clerk_id, UserCourse.course_id == course_id)
            .with_for_update()
        ).one()
        progress = session.scalars(
            select(UserProgress).where(
                UserProgress.user_clerk_id == clerk_id, UserProgress.lesson_id == lesson_id
            )
        ).one_or_none()
        now = datetime.now(UTC)
        if progress is None:
            progress = UserProgress(user_clerk_id=clerk_id, lesson_id=lesson_id, status=status)
            session.add(progress)
        progress.status = status
        progress.started_at = (progress.started_at or now) if status != "not_started" else None
        progress.completed_at = (progress.completed_at or now) if status == "completed" else None
        session.flush()
        lessons = session.scalar(select(func.count(Lesson.id)).join(Unit).where(Unit.course_id == course_id))
        completed = session.scalar(
            select(func.count(UserProgress.id))
            .join(Lesson, Lesson.id == UserProgress.lesson_id)
            .join(Unit, Unit.id == Lesson.unit_id)
            .where(
                Unit.course_id == course_id,
                UserProgress.user_clerk_id == clerk_id,
                UserProgress.status == "completed",
            )
        )
        enrolment.progress = 100 * (completed or 0) // lessons if lessons else 0
        enrolment.completed_at = (enrolment.completed_at or now) if enrolment.progress == 100 else None
    return enrolment


def next_lesson(session: Session, clerk_id: str, course_id: UUID) -> tuple[UserCourse, Any]:
    enrolment = session.scalars(
        select(UserCourse).where(UserCourse.user_clerk_id == clerk_id, UserCourse.course_id == course_id)
    ).one()
    row = session.execute(
        select(Lesson, Unit, UserProgress.status)
        .join(Unit, Unit.id == Lesson.unit_id)
        .outerjoin(
            UserProgress, and_(UserProgress.lesson_id == Lesson.id, UserProgress.user_clerk_id == clerk_id)
        )
        .where(
            Unit.course_id == course_id,
            or_(UserProgress.status.is_(None), UserProgress.status != "completed"),
        )
        .order_by(Unit.position, Lesson.position)
        .limit(1)
    ).first()
    return enrolment, row


def notifications_page(session: Session, clerk_id: str, limit: int) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.user_clerk_id == clerk_id)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        )
    )


_SIMPLE: ColumnElement[Any] = literal_column("'simple'::regconfig")


def discovery_search(session: Session, text: str, limit: int) -> list[tuple[Course, Any, Any, Any]]:
    """Published courses matching a text, newest first, with language, rating and tags."""
    average = (
        select(func.round(func.avg(CourseFeedback.rating), 2))
        .where(CourseFeedback.course_id == Course.id)
        .correlate(Course)
        .scalar_subquery()
    )
    ratings = (
        select(func.count(CourseFeedback.id))
        .where(CourseFeedback.course_id == Course.id)
        .correlate(Course)
        .scalar_subquery()
    )
    document = func.to_tsvector(_SIMPLE, Course.title + " " + Course.description)
    rows = session.execute(
        select(Course, Language.code, average, ratings)
        .outerjoin(Language, Language.id == Course.language_id)
        .options(selectinload(Course.tags))
        .where(Course.status == "published", document.op("@@")(func.websearch_to_tsquery(_SIMPLE, text)))
        .order_by(Course.published_at.desc(), Course.id.desc())
        .limit(limit + 1)
    ).all()
    return [(course, code, avg, count) for course, code, avg, count in rows[:limit]]


def lesson_progress(session: Session, clerk_id: str, course_id: UUID) -> list[Any]:
    return list(
        session.execute(
            select(Lesson, Unit.position, UserProgress)
            .join(Unit, Unit.id == Lesson.unit_id)
            .outerjoin(
                UserProgress,
                and_(UserProgress.lesson_id == Lesson.id, UserProgress.user_clerk_id == clerk_id),
            )
            .where(Unit.course_id == course_id)
            .order_by(Unit.position, Lesson.position)
        ).all()
    )


def course_cards(session: Session, courses: list[Course], viewer: str | None) -> list[dict[str, Any]]:
    """The cards of `courses`: one grouped query per aggregate for the whole page."""
    ids = [c.id for c in courses]
    lessons = {
        course_id: (count, seconds)
        for course_id, count, seconds in session.execute(
            select(
                Unit.course_id,
                func.count(Lesson.id),
                func.coalesce(func.sum(Lesson.duration_seconds), 0),
            )
            .join(Lesson, Lesson.unit_id == Unit.id)
            .where(Unit.course_id.in_(ids))
            .group_by(Unit.course_id)
        ).tuples()
    }
    enrolments = dict(
        session.execute(
            select(UserCourse.course_id, func.count())
            .where(UserCourse.course_id.in_(ids))
            .group_by(UserCourse.course_id)
        ).all()
    )
    ratings = {
        course_id: (mean, count)
        for course_id, mean, count in session.execute(
            select(CourseFeedback.course_id, func.round(func.avg(CourseFeedback.rating), 2), func.count())
            .where(CourseFeedback.course_id.in_(ids))
            .group_by(CourseFeedback.course_id)
        ).tuples()
    }
    authors = {
        u.clerk_id: u
        for u in session.scalars(
            select(User).where(User.clerk_id.in_({c.author_clerk_id for c in courses if c.author_clerk_id}))
        )
    }
    mine: dict[UUID, UserCourse] = {}
    if viewer is not None:
        mine = {
            e.course_id: e
            for e in session.scalars(
                select(UserCourse).where(UserCourse.user_clerk_id == viewer, UserCourse.course_id.in_(ids))
            )
        }
    cards = []
    for c in courses:
        author = authors.get(c.author_clerk_id or "")
        count, seconds = lessons.get(c.id, (0, 0))
        mean, rated = ratings.get(c.id, (None, 0))
        enrolment = mine.get(c.id)
        cards.append(
            {
                "course_id": c.id,
                "title": c.title,
                "cover_image_url": c.cover_image_url,
                "difficulty": c.difficulty,
                "language_code": c.language.code if c.language else None,
                "author_name": " ".join(p for p in (author.first_name, author.last_name) if p)
                if author
                else None,
                "author_avatar_url": author.avatar_url if author else None,
                "lesson_count": count,
                "lessons_duration_seconds": seconds,
                "enrolment_count": enrolments.get(c.id, 0),
                "rating_mean": mean,
                "rating_count": rated,
                "tags": [t.name for t in c.tags],
                "viewer_progress": enrolment.progress if enrolment else None,
            }
        )
    return cards
