"""The operations that read across the platform, not one user's or one course's rows: the leaderboard
with the viewer's rank, trending courses, a course's and an author's analytics, recommendations.
They are the ones that may grow with the platform; docs/scaling.md's "Growth" section compares them
(and every other operation) at the three scales.

The leaderboard needs points: `ensure_points` gives the dataset, once, a catalogue of streak
achievements and backfills it (login days are in every scale's dataset). Streak rules only, so that
the lesson writes other operations measure evaluate no more rules than without the catalogue (their
trigger evaluates `lessons_completed` rules alone).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import psycopg

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
    }


@operation("trending_cards", "trending courses of the last week, as cards (10)", kind="list", rows="10")
def trending_cards(p: Peers) -> Impls:
    learner = p.fx.learner
    params = {"since": TRENDING_SINCE, "viewer": learner, "page_size": 10}
    return {
        **p.learnstore(lambda s, r: s.pages.trending_cards(since=TRENDING_SINCE, viewer=learner)),
        **p.raw(lambda raw, r: raw.all("list_trending_course_cards", params)),
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
