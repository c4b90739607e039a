"""How every table would be distributed by Citus: user-keyed, course-keyed, reference or local.

Data, not a plan that runs: docs/scaling.md is written from it, and tests/test_scaling.py fails when
a table is not classified, or when a key names a column the table does not have (or claims to add
one it has already).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["DISTRIBUTION", "Distribution", "Kind"]

#: user: distributed on the user's clerk_id, co-located with users; course: on the course's id,
#: co-located with courses; reference: a copy on every node; local: on the coordinator only
Kind = Literal["user", "course", "reference", "local"]


@dataclass(frozen=True)
class Distribution:
    """A table's place in a Citus cluster: its kind, its distribution column (None for reference and
    local tables), whether that column must be added first (`added`), and why."""

    kind: Kind
    column: str | None
    why: str
    added: bool = False


def _user(column: str, why: str, *, added: bool = False) -> Distribution:
    return Distribution("user", column, why, added)


def _course(column: str, why: str, *, added: bool = False) -> Distribution:
    return Distribution("course", column, why, added)


def _reference(why: str) -> Distribution:
    return Distribution("reference", None, why)


#: every table, by name
DISTRIBUTION: dict[str, Distribution] = {
    # --- the learner's own rows: one shard holds all of a user's
    "users": _user("clerk_id", "the anchor every user-keyed table is co-located with"),
    "user_streaks": _user("user_clerk_id", "one row per user, rewritten from login_days on the same shard"),
    "login_days": _user("user_clerk_id", "partitioned by month within each shard"),
    "learning_goals": _user("user_clerk_id", "read and written by its user"),
    "notifications": _user("user_clerk_id", "a user's inbox; the like-once key holds user_clerk_id"),
    "user_courses": _user("user_clerk_id", "enrolment is read per learner (dashboard); a roster fans out"),
    "user_progress": _user("user_clerk_id", "progress is written per learner; course analytics fan out"),
    "quiz_attempts": _user("user_clerk_id", "a learner's attempts"),
    "user_achievements": _user("user_clerk_id", "awards are evaluated per user"),
    "user_points": _user("user_clerk_id", "per-user total; the leaderboard fans out"),
    "forum_user_activity": _user(
        "clerk_id", "a user's forum counts, read with the user; a like writes the liker's and the author's"
    ),
    "user_suspensions": _user("user_clerk_id", "read by the suspended user's own writes"),
    "favorites": _user("user_clerk_id", "a learner's saved courses"),
    "notification_mutes": _user("user_clerk_id", "read when a notice to its user is written"),
    "flashcard_sets": _user(
        "owner_clerk_id", "a set belongs to its owner; public sets are read across shards"
    ),
    "flashcards": _user(
        "owner_clerk_id", "cards live with their set's owner: the column is copied from the set", added=True
    ),
    "user_flashcard_progress": _user(
        "user_clerk_id", "the learner's schedule; the card may be on another shard"
    ),
    "flashcard_reviews": _user("user_clerk_id", "the learner's review log, partitioned by month"),
    "flashcard_set_learners": _user(
        "user_clerk_id", "written with the learner's schedule; the set's count may be on another shard"
    ),
    # --- a course and what hangs off it: one shard holds a course's tree and community
    "courses": _course("id", "the anchor every course-keyed table is co-located with"),
    "units": _course("course_id", "a course's units"),
    "lessons": _course(
        "course_id", "the tree is read per course; the column is copied from the unit", added=True
    ),
    "media": _course("course_id", "copied from the lesson", added=True),
    "quizzes": _course("course_id", "copied from the lesson", added=True),
    "course_tags": _course("course_id", "a course's tags (the tags themselves are a reference table)"),
    "collaborators": _course("course_id", "a course's team, read by every permission check on the course"),
    "collaboration_requests": _course("course_id", "asked of a course's team"),
    "course_feedback": _course("course_id", "a course's reviews"),
    "feedback_upvotes": _course("course_id", "copied from the review", added=True),
    "review_replies": _course("course_id", "copied from the review", added=True),
    "forum_posts": _course("course_id", "a course's forum"),
    "forum_replies": _course("course_id", "copied from the post: a thread is read on one shard", added=True),
    "forum_post_likes": _course("course_id", "copied from the post", added=True),
    "forum_reply_likes": _course("course_id", "copied from the reply", added=True),
    "forum_post_view_counts": _course("course_id", "a post's view shards, copied from the post", added=True),
    "forum_course_post_counts": _course(
        "course_id", "a course's live posts, written with them; the platform's shards add its changes"
    ),
    # Migration 0036. The platform's live posts: 16 rows that every post in a published course
    # writes and the platform-wide feed sums. As a reference table each post would write every node;
    # it stays local on the coordinator, as the points histogram, written by the trigger on the
    # course counters through the coordinator.
    "forum_platform_post_counts": Distribution(
        "local",
        None,
        "the platform's post counts, 16 shards: every published course's post writes one, the feed sums them",
    ),
    # Migration 0029. The histogram is keyed by a points value, not by a user or a course: every
    # award moves a learner between two values, and a rank sums every value above the viewer's. As
    # a reference table each award would write every node (a two-phase commit per award); as a
    # table distributed on the user, a rank would fan out to every shard. It stays local on the
    # coordinator (at most a few thousand rows: 8 shards of each distinct value), written by the
    # trigger on user_points through the coordinator, read there in one range scan.
    "user_points_histogram": Distribution(
        "local",
        None,
        "keyed by points value: every award writes it and every rank sums it; a few thousand rows",
    ),
    "lesson_progress_counts": _course(
        "course_id",
        "a lesson's counter shards, copied from the lesson: the drop-off reads one course",
        added=True,
    ),
    "forum_thread_follows": _course(
        "course_id", "read by the reply that notifies a thread's followers, copied from the post", added=True
    ),
    "course_stats": _course(
        "course_id",
        "a course's summary shards, read with its card; written by its learners' enrolments and ratings",
    ),
    "feedback_upvote_counts": _course(
        "course_id", "a course's reviews ranked by upvotes, read by its page; written by upvoters"
    ),
    "forum_course_activity": _course(
        "course_id", "a course's forum events per hour; trending sums every course's (a fan-out read)"
    ),
    # Migration 0032: a course's leaderboard, read one course at a time. Co-located with the course
    # (the board and the rank read one shard); an award writes its learner's rows on the shards of
    # the learner's courses, from the trigger on user_points (user-keyed).
    "course_points": _course(
        "course_id", "a course's learners' points, copied from user_points: the board walks one course"
    ),
    # Migration 0040: a course's learners by name, read one course at a time (the roster); a rename
    # writes its learner's rows on the shards of the learner's courses, from the trigger on users.
    "course_roster_names": _course(
        "course_id", "a course's learners' name keys, copied from users: the roster by name walks one course"
    ),
    "course_points_histogram": _course(
        "course_id", "a course's learners per points value: the rank sums one course's range"
    ),
    "suggested_edits": _course("course_id", "reviewed by the course's team"),
    "moderation_reports": _course(
        "course_id", "every target (post, reply, review) is a course's", added=True
    ),
    "moderation_actions": _course("course_id", "copied from the target", added=True),
    "audit_log": _course(
        "course_id",
        "the trail is read per course; an achievement's entries (no course) take the nil uuid",
    ),
    # --- small, read everywhere, written rarely
    "languages": _reference("a course's language, joined by catalog queries"),
    "tags": _reference("joined by catalog and search queries on every shard"),
    "achievements": _reference("the rules every award evaluation reads"),
    "site_roles": _reference("every policy asks whether the actor is an admin or moderator"),
    "erased_identities": _reference("read when a user is created, on whichever shard"),
    # --- the service's own bookkeeping
    "webhook_deliveries": Distribution(
        "local", None, "idempotency of incoming webhooks, checked by svix_id on the coordinator"
    ),
}
