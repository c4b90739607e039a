"""The operations that read across the platform, not one user's or one course's rows: the leaderboard
with the viewer's rank, trending courses, a course's and an author's analytics, recommendations.
They are the ones that may grow with the platform; docs/scaling.md's "Growth" section compares them
(and every other operation) at the three scales.

The leaderboard needs points: `ensure_points` gives the dataset, once, a catalogue of streak
achievements and backfills it (login days are in every scale's dataset). Streak rules only, so that
the lesson writes other operations measure evaluate no more rules than without the catalogue (their
trigger evaluates `lessons_completed` rules alone).

The ORM reads the same tables learnstore's SQL reads, the rollups its triggers keep included (a
learner's points, points copied onto enrolments, a course's forum events per hour), the way the ORM's
documentation teaches: the page's rows with their relationships loaded eagerly, then one query per
aggregate; a rank is a count of those ahead, as an ORM user writes it, not learnstore's histograms.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from sqlalchemy import desc, func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from bench.peers import orm
from bench.registry import Impls, Peers, operation
from learnstore import Store
from learnstore.repositories.favorites import PEER_SAMPLE, POPULAR_WINDOW
from learnstore.sample import NOW

#: the streak catalogue: (code, longest streak in days, points); many learners earn one or two
STREAKS = (("bench-streak-3", 3, 10), ("bench-streak-7", 7, 30), ("bench-streak-14", 14, 60))

#: the trending window: the week before the dataset's history ends (the bench forum's posts come
#: one every three minutes before NOW, at every scale: the window holds the same activity)
TRENDING_SINCE = NOW - timedelta(days=7)


def ensure_points(conn: psycopg.Connection[Any]) -> None:
    """The points the leaderboard ranks: the streak catalogue created and backfilled in the dataset
    of `conn` (autocommit), once."""
    store = Store.on(conn)
    existing = {a.code for a in store.achievements.list_all()}
    for code, days, points in STREAKS:
        if code in existing:
            continue
        rule = {"kind": "streak_days", "threshold": days}
        achievement = store.achievements.create(code, f"A {days}-day streak", rule, points=points)
        store.achievements.backfill(achievement.id)
        conn.execute("VACUUM ANALYZE user_points")
        conn.execute("VACUUM ANALYZE user_achievements")


def _author(p: Peers) -> str:
    row = p.setup.execute("SELECT author_clerk_id FROM courses WHERE id = %s", (p.fx.course_id,)).fetchone()
    author: str = row[0]
    return author


def _unranked(p: Peers, course: UUID | None) -> str:
    """A learner without points (in `course`, if given): the viewer whose rank is the costliest to
    count (everyone with points ranks above them). The first by clerk id: the same at every run."""
    row = p.setup.execute(
        "SELECT uc.user_clerk_id FROM user_courses uc"
        " WHERE (%(course)s::uuid IS NULL OR uc.course_id = %(course)s)"
        " AND NOT EXISTS (SELECT FROM user_points pt WHERE pt.user_clerk_id = uc.user_clerk_id)"
        " ORDER BY uc.user_clerk_id LIMIT 1",
        {"course": course},
    ).fetchone()
    viewer: str = row[0]
    return viewer


# -- the ORM's boards and trending ------------------------------------------------------------------

Top = list[tuple[str, int, int, datetime | None, orm.User]]


def _board(
    session: Session, top: Top, viewer: str, ahead: Callable[[int], Any] | None
) -> list[dict[str, Any]]:
    """The top rows ranked among themselves (equal points share a rank: 1, 2, 2, 4), then the viewer's
    own row when outside the top and `ahead` is given: 1 + the count `ahead(points)` selects."""
    board: list[dict[str, Any]] = []
    for n, (clerk_id, points, achievements, reached_at, user) in enumerate(top):
        rank = board[-1]["rank"] if board and board[-1]["points"] == points else n + 1
        board.append(_row(rank, user, points, achievements, reached_at, clerk_id == viewer))
    if ahead is None or any(row["is_me"] for row in board):
        return board
    user = orm.user_by_clerk_id(session, viewer)
    mine = session.scalars(select(orm.UserPoints).where(orm.UserPoints.user_clerk_id == viewer)).one_or_none()
    points = mine.points if mine else 0
    above = session.scalar(ahead(points)) or 0
    me = _row(
        1 + above, user, points, mine.achievements if mine else 0, mine.reached_at if mine else None, True
    )
    return [*board, me]


def _row(
    rank: int, user: orm.User, points: int, achievements: int, reached_at: Any, me: bool
) -> dict[str, Any]:
    return {
        "rank": rank,
        "user_clerk_id": user.clerk_id,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "avatar_url": user.avatar_url,
        "points": points,
        "achievements": achievements,
        "reached_at": reached_at,
        "is_me": me,
    }


def orm_leaderboard(session: Session, viewer: str, top: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(
            orm.UserPoints.user_clerk_id,
            orm.UserPoints.points,
            orm.UserPoints.achievements,
            orm.UserPoints.reached_at,
            orm.User,
        )
        .join(orm.User, orm.User.clerk_id == orm.UserPoints.user_clerk_id)
        .order_by(desc(orm.UserPoints.points), orm.UserPoints.reached_at, orm.UserPoints.user_clerk_id)
        .limit(top)
    ).tuples()
    return _board(
        session,
        list(rows),
        viewer,
        lambda points: select(func.count()).select_from(orm.UserPoints).where(orm.UserPoints.points > points),
    )


def orm_course_leaderboard(session: Session, viewer: str, course_id: UUID, top: int) -> list[dict[str, Any]]:
    cp = orm.CoursePoints
    rows = session.execute(
        select(cp.user_clerk_id, cp.points, orm.UserPoints.achievements, cp.reached_at, orm.User)
        .join(orm.UserPoints, orm.UserPoints.user_clerk_id == cp.user_clerk_id)
        .join(orm.User, orm.User.clerk_id == cp.user_clerk_id)
        .where(cp.course_id == course_id)
        .order_by(desc(cp.points), cp.reached_at, cp.user_clerk_id)
        .limit(top)
    ).tuples()
    enrolled = session.scalar(
        select(func.count())
        .select_from(orm.UserCourse)
        .where(orm.UserCourse.user_clerk_id == viewer, orm.UserCourse.course_id == course_id)
    )
    return _board(
        session,
        list(rows),
        viewer,
        (
            lambda points: (
                select(func.count()).select_from(cp).where(cp.course_id == course_id, cp.points > points)
            )
        )
        if enrolled
        else None,
    )


def orm_trending_cards(session: Session, since: datetime, viewer: str, limit: int) -> list[dict[str, Any]]:
    """The published courses with the most public forum events since `since`, as cards. From the
    hourly rollup alone: the window must start on the hour (the bench's does), where learnstore's
    forum_course_activity_since adds nothing from the base tables for a viewer without hidden rows."""
    if since != since.replace(minute=0, second=0, microsecond=0):
        raise ValueError("the ORM's trending reads whole hours: give a window that starts on the hour")
    activity = func.sum(orm.CourseActivity.events_public).label("activity")
    ranked = session.execute(
        select(orm.CourseActivity.course_id, activity)
        .join(orm.Course, orm.Course.id == orm.CourseActivity.course_id)
        .where(orm.CourseActivity.bucket >= since, orm.Course.status == "published")
        .group_by(orm.CourseActivity.course_id)
        .having(activity > 0)
        .order_by(desc(activity), orm.CourseActivity.course_id)
        .limit(limit)
    ).all()
    events = dict(ranked)
    courses = {
        c.id: c
        for c in session.scalars(
            select(orm.Course)
            .options(joinedload(orm.Course.language), selectinload(orm.Course.tags))
            .where(orm.Course.id.in_(events))
        )
    }
    favorited = set(
        session.scalars(
            select(orm.Favorite.course_id).where(
                orm.Favorite.user_clerk_id == viewer, orm.Favorite.course_id.in_(events)
            )
        )
    )
    cards = orm.course_cards(session, [courses[course_id] for course_id in events], viewer)
    for card in cards:
        card["viewer_favorited"] = card["course_id"] in favorited
        card["activity"] = events[card["course_id"]]
    return cards


@operation(
    "leaderboard",
    "the overall leaderboard, top 10 and the rank of a viewer without points",
    kind="list",
    rows="11",
)
def leaderboard(p: Peers) -> Impls:
    ensure_points(p.setup)
    viewer = _unranked(p, None)
    params = {"clerk_id": viewer, "course_id": None, "top_n": 10}
    return {
        **p.learnstore(lambda s, r: s.achievements.leaderboard(viewer, top=10)),
        **p.raw(lambda raw, r: raw.all("list_leaderboard", params)),
        "orm": lambda r: p.orm(orm_leaderboard, viewer, 10),
    }


@operation(
    "course_leaderboard",
    "the flagship course's leaderboard, top 10 and the rank of a viewer without points",
    kind="list",
    rows="11",
)
def course_leaderboard(p: Peers) -> Impls:
    ensure_points(p.setup)
    course = p.fx.course_id
    viewer = _unranked(p, course)
    params = {"clerk_id": viewer, "course_id": course, "top_n": 10}
    return {
        **p.learnstore(lambda s, r: s.achievements.leaderboard(viewer, course_id=course, top=10)),
        **p.raw(lambda raw, r: raw.all("list_course_leaderboard", params)),
        "orm": lambda r: p.orm(orm_course_leaderboard, viewer, course, 10),
    }


@operation("trending_cards", "trending courses of the last week, as cards (10)", kind="list", rows="10")
def trending_cards(p: Peers) -> Impls:
    learner = p.fx.learner
    params = {"since": TRENDING_SINCE, "viewer": learner, "page_size": 10}
    return {
        **p.learnstore(lambda s, r: s.pages.trending_cards(since=TRENDING_SINCE, viewer=learner)),
        **p.raw(lambda raw, r: raw.all("list_trending_course_cards", params)),
        "orm": lambda r: p.orm(orm_trending_cards, TRENDING_SINCE, learner, 10),
    }


@operation("course_stats", "the flagship course's analytics (enrolments, completion)", kind="read", rows="1")
def course_stats(p: Peers) -> Impls:
    course: UUID = p.fx.course_id
    return {
        **p.learnstore(lambda s, r: s.progress.get_course_stats(course)),
        **p.raw(lambda raw, r: raw.one("get_course_stats", {"course_id": course})),
    }


@operation("lesson_completions", "the flagship course's drop-off (50 lessons)", kind="list", rows="50")
def lesson_completions(p: Peers) -> Impls:
    course: UUID = p.fx.course_id
    return {
        **p.learnstore(lambda s, r: s.progress.list_lesson_completions(course)),
        **p.raw(lambda raw, r: raw.all("list_lesson_completions", {"course_id": course})),
    }


@operation("author_stats", "an author's analytics, course by course", kind="list", rows="4")
def author_stats(p: Peers) -> Impls:
    author = _author(p)
    return {
        **p.learnstore(lambda s, r: s.progress.list_author_course_stats(author)),
        **p.raw(lambda raw, r: raw.all("list_author_course_stats", {"author_clerk_id": author})),
    }


@operation("recommendations", "recommended courses for a learner (10)", kind="list", rows="10")
def recommendations(p: Peers) -> Impls:
    learner = p.fx.learner
    params = {
        "user_clerk_id": learner,
        "peer_sample": PEER_SAMPLE,
        "popular_window": POPULAR_WINDOW,
        "page_size": 10,
    }
    return {
        **p.learnstore(lambda s, r: s.favorites.recommend(learner, limit=10)),
        **p.raw(lambda raw, r: raw.all("list_recommended_courses", params)),
    }
