"""The pages a client draws, registered with bench.registry: the learner's dashboard as course cards,
an author's courses as cards, the course page and user search, for learnstore, raw psycopg (the same
SQL, from sql/queries/pages.sql) and the SQLAlchemy ORM.

    python -m bench.run --scale small --only dashboard_cards --only author_cards --only course_page \
        --only user_search --import-reps 0

The ORM draws each page as an ORM user who knows about N+1 would: the rows with their relationships
loaded eagerly, then one grouped query per aggregate (lesson counts, enrolments, ratings, tags, the
viewer's favorites) for the whole page, put together in Python.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, desc, func, or_, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, joinedload, mapped_column, selectinload

from bench.peers import orm
from bench.registry import Impls, Peers, operation

#: what the search benchmark types: a first-name prefix that many users share
SEARCH_PREFIX = "mar"


# -- the ORM's models of what a user owns (a base of their own: other bench modules map some of
# these tables for their own operations) -------------------------------------------------------------


class _Base(DeclarativeBase):
    pass


class _PostLike(_Base):
    __tablename__ = "forum_post_likes"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    post_id: Mapped[UUID]
    user_clerk_id: Mapped[str]
    created_at: Mapped[datetime]


class _ReplyLike(_Base):
    __tablename__ = "forum_reply_likes"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    reply_id: Mapped[UUID]
    user_clerk_id: Mapped[str]
    created_at: Mapped[datetime]


class _Post(_Base):
    __tablename__ = "forum_posts"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    course_id: Mapped[UUID]
    title: Mapped[str]
    deleted_at: Mapped[datetime | None]


class _Reply(_Base):
    __tablename__ = "forum_replies"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    post_id: Mapped[UUID]
    body: Mapped[str]
    deleted_at: Mapped[datetime | None]


class _Upvote(_Base):
    __tablename__ = "feedback_upvotes"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    feedback_id: Mapped[UUID]


class _Edit(_Base):
    __tablename__ = "suggested_edits"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    course_id: Mapped[UUID]
    author_clerk_id: Mapped[str | None]
    summary: Mapped[str]
    status: Mapped[str]
    created_at: Mapped[datetime]


class _Goal(_Base):
    __tablename__ = "learning_goals"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    user_clerk_id: Mapped[str]
    title: Mapped[str]
    target_date: Mapped[date | None]
    progress: Mapped[int]
    completed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class _Seat(_Base):
    __tablename__ = "collaborators"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    course_id: Mapped[UUID]
    user_clerk_id: Mapped[str]
    role: Mapped[str]
    status: Mapped[str]
    created_at: Mapped[datetime]


def orm_dashboard_cards(session: Session, clerk_id: str) -> list[dict[str, Any]]:
    enrolments = session.scalars(
        select(orm.UserCourse)
        .options(
            joinedload(orm.UserCourse.course).joinedload(orm.Course.language),
            joinedload(orm.UserCourse.course).selectinload(orm.Course.tags),
        )
        .where(orm.UserCourse.user_clerk_id == clerk_id)
        .order_by(desc(orm.UserCourse.enrolled_at), desc(orm.UserCourse.course_id))
        .limit(50)
    ).all()
    return orm.course_cards(session, [e.course for e in enrolments], clerk_id)


def orm_author_cards(session: Session, author: str, viewer: str) -> list[dict[str, Any]]:
    courses = session.scalars(
        select(orm.Course)
        .options(joinedload(orm.Course.language), selectinload(orm.Course.tags))
        .where(orm.Course.author_clerk_id == author, orm.Course.status == "published")
        .order_by(desc(orm.Course.created_at), desc(orm.Course.id))
        .limit(20)
    ).all()
    return orm.course_cards(session, list(courses), viewer)


def orm_course_page(session: Session, course_id: UUID, viewer: str) -> dict[str, Any]:
    course = session.scalars(
        select(orm.Course)
        .options(
            joinedload(orm.Course.language),
            selectinload(orm.Course.tags),
            selectinload(orm.Course.units).selectinload(orm.Unit.lessons),
        )
        .where(orm.Course.id == course_id)
    ).one()
    [card] = orm.course_cards(session, [course], viewer)
    histogram = dict(
        session.execute(
            select(orm.CourseFeedback.rating, func.count())
            .where(orm.CourseFeedback.course_id == course_id)
            .group_by(orm.CourseFeedback.rating)
        ).all()
    )
    lesson_ids = [lesson.id for unit in course.units for lesson in unit.lessons]
    statuses = dict(
        session.execute(
            select(orm.UserProgress.lesson_id, orm.UserProgress.status).where(
                orm.UserProgress.user_clerk_id == viewer, orm.UserProgress.lesson_id.in_(lesson_ids)
            )
        ).all()
    )
    reviews = session.execute(
        select(orm.CourseFeedback, orm.User)
        .outerjoin(orm.User, orm.User.clerk_id == orm.CourseFeedback.user_clerk_id)
        .where(orm.CourseFeedback.course_id == course_id)
        .order_by(desc(orm.CourseFeedback.id))
        .limit(5)
    ).all()
    next_lesson = next(
        (
            lesson
            for unit in course.units
            for lesson in unit.lessons
            if statuses.get(lesson.id) != "completed"
        ),
        None,
    )
    return {
        "card": card,
        "units": [
            {
                "title": unit.title,
                "lessons": [
                    {
                        "title": lesson.title,
                        "status": statuses.get(lesson.id),
                        "duration": lesson.duration_seconds,
                    }
                    for lesson in unit.lessons
                ],
            }
            for unit in course.units
        ],
        "histogram": {star: histogram.get(star, 0) for star in range(1, 6)},
        "reviews": [(f.rating, u.first_name if u else None) for f, u in reviews],
        "next_lesson": next_lesson.title if next_lesson else None,
    }


def _prefix(column: ColumnElement[Any], prefix: str) -> ColumnElement[bool]:
    return func.lower(column).startswith(prefix, autoescape=True)


def orm_user_search(session: Session, prefix: str) -> list[tuple[str, str | None, str | None]]:
    full_name = func.lower(
        func.coalesce(orm.User.first_name, "") + " " + func.coalesce(orm.User.last_name, "")
    )
    users = session.scalars(
        select(orm.User)
        .where(
            or_(
                full_name.startswith(prefix, autoescape=True),
                _prefix(orm.User.last_name, prefix),
                _prefix(orm.User.email, prefix),
            )
        )
        .order_by(full_name, orm.User.clerk_id)
        .limit(10)
    ).all()
    return [(u.clerk_id, u.first_name, u.last_name) for u in users]


def orm_lesson_statuses(session: Session, clerk_id: str) -> list[tuple[Any, ...]]:
    return [
        tuple(row)
        for row in session.execute(
            select(orm.UserProgress, orm.Lesson.title, orm.Course.id, orm.Course.title)
            .join(orm.Lesson, orm.Lesson.id == orm.UserProgress.lesson_id)
            .join(orm.Unit, orm.Unit.id == orm.Lesson.unit_id)
            .join(orm.Course, orm.Course.id == orm.Unit.course_id)
            .where(orm.UserProgress.user_clerk_id == clerk_id)
            .order_by(desc(orm.UserProgress.updated_at), desc(orm.UserProgress.id))
            .limit(51)
        )
    ]


def orm_belongings(session: Session, clerk_id: str, n: int) -> dict[str, Any]:
    """What a user owns as the ORM reads it: one query per section, the course titles by one more."""
    post_likes = session.execute(
        select(_PostLike, _Post)
        .join(_Post, _Post.id == _PostLike.post_id)
        .where(_PostLike.user_clerk_id == clerk_id, _Post.deleted_at.is_(None))
        .order_by(desc(_PostLike.created_at))
        .limit(n)
    ).all()
    reply_likes = session.execute(
        select(_ReplyLike, _Reply, _Post)
        .join(_Reply, _Reply.id == _ReplyLike.reply_id)
        .join(_Post, _Post.id == _Reply.post_id)
        .where(_ReplyLike.user_clerk_id == clerk_id, _Reply.deleted_at.is_(None))
        .order_by(desc(_ReplyLike.created_at))
        .limit(n)
    ).all()
    upvotes = select(func.count()).where(_Upvote.feedback_id == orm.CourseFeedback.id).scalar_subquery()
    reviews = session.execute(
        select(orm.CourseFeedback, upvotes).where(orm.CourseFeedback.user_clerk_id == clerk_id).limit(n)
    ).all()
    edits = session.scalars(
        select(_Edit).where(_Edit.author_clerk_id == clerk_id).order_by(desc(_Edit.created_at)).limit(n)
    ).all()
    goals = session.scalars(
        select(_Goal).where(_Goal.user_clerk_id == clerk_id).order_by(desc(_Goal.created_at)).limit(n)
    ).all()
    seats = session.scalars(
        select(_Seat).where(_Seat.user_clerk_id == clerk_id).order_by(desc(_Seat.created_at)).limit(n)
    ).all()
    course_ids = {p.course_id for _, p in post_likes} | {p.course_id for _, _, p in reply_likes}
    course_ids |= (
        {f.course_id for f, _ in reviews} | {e.course_id for e in edits} | {s.course_id for s in seats}
    )
    titles = dict(
        session.execute(select(orm.Course.id, orm.Course.title).where(orm.Course.id.in_(course_ids))).all()
    )
    likes = [(like.created_at, "post", post.title, titles.get(post.course_id)) for like, post in post_likes]
    likes += [
        (like.created_at, "reply", reply.body[:200], titles.get(post.course_id))
        for like, reply, post in reply_likes
    ]
    return {
        "likes": sorted(likes, key=lambda item: item[0], reverse=True)[:n],
        "reviews": [(f.rating, count, titles.get(f.course_id)) for f, count in reviews],
        "edits": [(e.summary, e.status, titles.get(e.course_id)) for e in edits],
        "goals": [(g.title, g.progress) for g in goals],
        "invitations": [(s.role, s.status, titles.get(s.course_id)) for s in seats],
    }


def orm_roster(
    session: Session, course_id: UUID, viewer: str, limit: int, by_name: bool = False
) -> list[dict[str, Any]]:
    """A roster page as the ORM reads it: the permission, the page of enrolments with their users
    (by progress, or by name: the full name, else the clerk id, lower-cased), the course's quizzes,
    the page's quiz results, and the total."""
    course = session.get(orm.Course, course_id)
    seat = session.scalar(
        select(_Seat).where(
            _Seat.course_id == course_id, _Seat.user_clerk_id == viewer, _Seat.status == "accepted"
        )
    )
    if course is None or (course.author_clerk_id != viewer and seat is None):
        raise PermissionError(viewer)
    page = session.execute(
        select(orm.UserCourse, orm.User)
        .join(orm.User, orm.User.clerk_id == orm.UserCourse.user_clerk_id)
        .where(orm.UserCourse.course_id == course_id)
        .order_by(
            *(
                (_name_key(), orm.UserCourse.user_clerk_id)
                if by_name
                else (desc(orm.UserCourse.progress), desc(orm.UserCourse.user_clerk_id))
            )
        )
        .limit(limit)
    ).all()
    quizzes = session.scalars(
        select(orm.Quiz.id)
        .join(orm.Lesson, orm.Lesson.id == orm.Quiz.lesson_id)
        .join(orm.Unit, orm.Unit.id == orm.Lesson.unit_id)
        .where(orm.Unit.course_id == course_id)
    ).all()
    total = session.scalar(select(func.count()).where(orm.UserCourse.course_id == course_id))
    return [
        {"clerk_id": user.clerk_id, "progress": enrolment.progress, "quizzes": len(quizzes), "total": total}
        for enrolment, user in page
    ]


def _name_key() -> ColumnElement[str]:
    full = func.btrim(func.concat_ws(" ", orm.User.first_name, orm.User.last_name))
    return func.lower(func.coalesce(func.nullif(full, ""), orm.User.clerk_id))


def _belongings_parsed(row: Any) -> Any:
    """The belongings row as the raw user reads it: its five JSON text columns parsed."""

    def parse(values: Any) -> Any:
        return (values[0], *(json.loads(value) for value in values[1:]))

    async def later() -> Any:
        return parse(await row)

    return later() if isinstance(row, Awaitable) else parse(row)


def _page_parsed(row: Any) -> Any:
    """The course page row as the raw user reads it: the three JSON text columns parsed."""

    def parse(values: Any) -> Any:
        *head, collaborators, units, reviews = values[:-7]
        return (*head, json.loads(collaborators), json.loads(units), json.loads(reviews), *values[-7:])

    async def later() -> Any:
        return parse(await row)

    return later() if isinstance(row, Awaitable) else parse(row)


@operation("dashboard_cards", "learner dashboard as course cards", kind="list", rows="10")
def dashboard_cards(p: Peers) -> Impls:
    learner = p.fx.learner
    params = {"user_clerk_id": learner, "page_size": 50}
    return {
        **p.learnstore(lambda s, r: s.pages.dashboard_cards(learner)),
        **p.raw(lambda raw, r: raw.all("list_enrolled_course_cards", params)),
        "orm": lambda r: p.orm(orm_dashboard_cards, learner),
    }


@operation("author_cards", "an author's courses as cards", kind="list", rows="20")
def author_cards(p: Peers) -> Impls:
    learner = p.fx.learner
    author = p.setup.execute(
        "SELECT author_clerk_id FROM courses WHERE id = %s", (p.fx.course_id,)
    ).fetchone()[0]
    params = {"author_clerk_id": author, "viewer": learner, "page_size": 20}
    return {
        **p.learnstore(lambda s, r: s.pages.author_cards(author, viewer=learner)),
        **p.raw(lambda raw, r: raw.all("list_author_course_cards", params)),
        "orm": lambda r: p.orm(orm_author_cards, author, learner),
    }


@operation("course_page", "the course page (50 lessons, 5 reviews, viewer state)", kind="tree", rows="1")
def course_page(p: Peers) -> Impls:
    learner, course = p.fx.learner, p.fx.course_id
    params = {"course_id": course, "viewer": learner, "top_reviews": 5}
    return {
        **p.learnstore(lambda s, r: s.pages.course_page(course, viewer=learner)),
        **p.raw(lambda raw, r: _page_parsed(raw.one("get_course_page", params))),
        "orm": lambda r: p.orm(orm_course_page, course, learner),
    }


@operation("user_search", "user search by prefix (10)", kind="list", rows="10")
def user_search(p: Peers) -> Impls:
    upper = SEARCH_PREFIX[:-1] + chr(ord(SEARCH_PREFIX[-1]) + 1)
    params: dict[str, Any] = {"lower_bound": SEARCH_PREFIX, "upper_bound": upper, "page_size": 10}
    return {
        **p.learnstore(lambda s, r: s.pages.search_users(SEARCH_PREFIX)),
        **p.raw(lambda raw, r: raw.all("search_users", params)),
        "orm": lambda r: p.orm(orm_user_search, SEARCH_PREFIX),
    }


@operation("roster_by_name", "an instructor's roster, by name (page of 50)", kind="list", rows="50")
def roster_by_name(p: Peers) -> Impls:
    course = p.fx.course_id
    author = p.setup.execute("SELECT author_clerk_id FROM courses WHERE id = %s", (course,)).fetchone()[0]
    params = {
        "course_id": course,
        "viewer": author,
        "after_name": None,
        "after_clerk_id": None,
        "page_size": 51,
    }
    return {
        **p.learnstore(lambda s, r: s.pages.roster(course, viewer=author, order="name")),
        **p.raw(lambda raw, r: _roster_parsed(raw.one("get_course_roster_by_name", params))),
        "orm": lambda r: p.orm(orm_roster, course, author, 51, True),
    }


@operation(
    "lesson_statuses", "a learner's lesson statuses across courses (page of 50)", kind="list", rows="50"
)
def lesson_statuses(p: Peers) -> Impls:
    learner = p.fx.learner
    params = {"user_clerk_id": learner, "before_updated_at": None, "before_id": None, "page_size": 51}
    return {
        **p.learnstore(lambda s, r: s.pages.lesson_statuses(learner)),
        **p.raw(lambda raw, r: raw.all("list_learner_lesson_statuses", params)),
        "orm": lambda r: p.orm(orm_lesson_statuses, learner),
    }


@operation("belongings", "what a user owns (6 sections of 20)", kind="tree", rows="1")
def belongings(p: Peers) -> Impls:
    learner = p.fx.learner
    params = {"clerk_id": learner, "per_section": 20}
    return {
        **p.learnstore(lambda s, r: s.pages.belongings(learner)),
        **p.raw(lambda raw, r: _belongings_parsed(raw.one("get_user_belongings", params))),
        "orm": lambda r: p.orm(orm_belongings, learner, 20),
    }


def _roster_parsed(row: Any) -> Any:
    """The roster row as the raw user reads it: the entries parsed."""

    def parse(values: Any) -> Any:
        return (values[0], values[1], json.loads(values[2]))

    async def later() -> Any:
        return parse(await row)

    return later() if isinstance(row, Awaitable) else parse(row)


@operation("roster_page", "an instructor's roster, by progress (page of 50)", kind="list", rows="50")
def roster_page(p: Peers) -> Impls:
    course = p.fx.course_id
    author = p.setup.execute("SELECT author_clerk_id FROM courses WHERE id = %s", (course,)).fetchone()[0]
    params = {
        "course_id": course,
        "viewer": author,
        "sort_by": "progress",
        "after_progress": None,
        "after_at": None,
        "after_clerk_id": None,
        "page_size": 51,
    }
    return {
        **p.learnstore(lambda s, r: s.pages.roster(course, viewer=author)),
        **p.raw(lambda raw, r: _roster_parsed(raw.one("get_course_roster", params))),
        "orm": lambda r: p.orm(orm_roster, course, author, 51),
    }
