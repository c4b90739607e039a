"""The permission model: who may read and write each table under `as_user`, and the SQL of the roles.

`MODEL` is the model as data: docs/security.md's table is made from it, and tests/test_permissions.py
tries every cell against PostgreSQL. The policies and grants that enforce it are in
sql/schema/91_permissions.sql (migration 0013).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal

__all__ = [
    "APP_ROLE",
    "AUDIENCES",
    "AUDIT_TABLES",
    "COMMANDS",
    "COURSE_SCOPED",
    "MIGRATION_ID",
    "MODEL",
    "MODERATION_TABLES",
    "NOTES",
    "OWNED_TABLES",
    "OWNERS",
    "PRIVATE_TABLES",
    "SHARED_TABLES",
    "SITE_ROLES_TABLE",
    "WRITES",
    "Audience",
    "drop_role_sql",
    "model_table",
    "role_sql",
]

#: The non-owner role `store.as_user()` runs every operation under.
APP_ROLE: Final = "learnstore_app"
#: the migration that creates the role and the first policies (0013 made the model of today)
MIGRATION_ID: Final = "0009_row_level_security"

#: A user's own rows and nobody else's business: under `as_user` a user sees and writes only theirs.
#: The rule: the table has a user FK, and no other user ever needs to read one of its rows.
PRIVATE_TABLES: Final[dict[str, str]] = {
    "user_streaks": "user_clerk_id",
    "login_days": "user_clerk_id",
    "learning_goals": "user_clerk_id",
    "notifications": "user_clerk_id",
    "quiz_attempts": "user_clerk_id",
    "user_courses": "user_clerk_id",
    "user_progress": "user_clerk_id",
    "user_achievements": "user_clerk_id",
    "user_flashcard_progress": "user_clerk_id",
    "flashcard_reviews": "user_clerk_id",
    "favorites": "user_clerk_id",
    "forum_thread_follows": "user_clerk_id",
    "notification_mutes": "user_clerk_id",
}

#: Rows a user writes for others to read: everyone reads them (a profile, a post, a like that a
#: count is made of), only their user inserts, updates or deletes them. A flashcard set is read by
#: others only when it is public.
OWNED_TABLES: Final[dict[str, str]] = {
    "users": "clerk_id",
    "forum_posts": "author_clerk_id",
    "forum_replies": "author_clerk_id",
    "forum_post_likes": "user_clerk_id",
    "forum_reply_likes": "user_clerk_id",
    "course_feedback": "user_clerk_id",
    "feedback_upvotes": "user_clerk_id",
    "flashcard_sets": "owner_clerk_id",
    "review_replies": "author_clerk_id",
}

#: Tables with a user FK whose writers are not "the row's own user": a course's team, or nobody but
#: the award evaluation. Their rules are in MODEL.
SHARED_TABLES: Final[dict[str, str]] = {
    "courses": "edited by its author and editors (reviewers through approved edits); read by everyone",
    "collaborators": "a course's team: granted by the course's author, read by the team and the invitee",
    "suggested_edits": "written by one user and reviewed by another (the reviewer writes the row)",
    "user_points": "written only by the award evaluation (SECURITY DEFINER); everyone reads it",
    "collaboration_requests": "asked and withdrawn by one user, decided by the course's author",
    "flashcard_set_learners": "written only by the trigger on a learner's first card of a set; each"
    " learner reads their own",
    "forum_user_activity": "written only by the triggers on the forum's posts, replies and likes"
    " (SECURITY DEFINER); everyone reads it",
}

#: Site-wide roles (migration 0013): each user reads their own, an admin reads, grants and revokes all.
SITE_ROLES_TABLE: Final = "site_roles"

#: The audit trail (migration 0014): under `as_user` a course's author and accepted collaborators
#: read its entries (one SELECT policy), and nobody writes it but its triggers (SECURITY DEFINER).
#: The column is the actor, which the GDPR erase sets to NULL.
AUDIT_TABLES: Final[dict[str, str]] = {"audit_log": "actor_clerk_id"}


def role_sql(logins: Sequence[str] = (), role: str = APP_ROLE) -> str:
    """The SQL that creates `role` (idempotent) and lets each of `logins` switch to it.

    Migration 0009 runs the same creation itself when it may (CREATEROLE); an administrator runs
    this first where the migrating role may not create roles.
    """
    quoted = _identifier(role)
    lines = [
        "DO $$",
        "BEGIN",
        f"    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {_literal(role)}) THEN",
        f"        CREATE ROLE {quoted} NOLOGIN;",
        "    END IF;",
        "END",
        "$$;",
    ]
    lines.extend(f"GRANT {quoted} TO {_identifier(login)};" for login in logins)
    return "\n".join(lines) + "\n"


def drop_role_sql(role: str = APP_ROLE) -> str:
    """The SQL that removes `role` from the cluster; run it in every database that granted to it
    (DROP OWNED revokes this database's grants), then the DROP ROLE succeeds in the last one."""
    quoted = _identifier(role)
    return f"DROP OWNED BY {quoted};\nDROP ROLE IF EXISTS {quoted};\n"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


#: Moderation (migration 0015, docs/moderation.md): per table and command, who may under `as_user`,
#: in the permission model's words ("own": the row's user; "moderator", "admin": site roles;
#: "definer": only learnstore's SECURITY DEFINER moderation functions, which check their caller;
#: "nobody": not even those). Rows to merge into the model table of docs/security.md.
MODERATION_TABLES: Final[dict[str, dict[str, tuple[Audience, ...]]]] = {
    "moderation_reports": {
        "SELECT": ("own", "moderator", "admin"),
        "INSERT": ("own",),  # in one's own name, unless suspended
        "UPDATE": ("definer",),  # resolved by hiding, dismissed by a moderator
        "DELETE": ("nobody",),  # goes with its target (ON DELETE CASCADE)
    },
    "moderation_actions": {
        "SELECT": ("moderator", "admin"),
        "INSERT": ("definer",),
        "UPDATE": ("nobody",),  # append-only (a trigger); erasure sets its user columns NULL
        "DELETE": ("nobody",),
    },
    "user_suspensions": {
        "SELECT": ("own", "moderator", "admin"),
        "INSERT": ("definer",),
        "UPDATE": ("definer",),
        "DELETE": ("definer",),
    },
}


Audience = Literal[
    "own", "author", "editor", "reviewer", "learner", "moderator", "admin", "anyone", "definer", "nobody"
]  # fmt: skip
#: Who a cell of the model may name, in the order the docs list them.
AUDIENCES: Final[dict[Audience, str]] = {
    "own": "the row's own user (the column `OWNERS` names)",
    "author": "the course's author",
    "editor": "an accepted collaborator of the course with the role editor",
    "reviewer": "an accepted collaborator of the course with the role reviewer",
    "learner": "a learner enrolled in the course",
    "moderator": "a site moderator (site_roles)",
    "admin": "a site admin (site_roles)",
    "anyone": "any acting user",
    "definer": "nobody but learnstore's own SECURITY DEFINER functions (and the service path)",
    "nobody": "nobody under as_user: the service path only",
}
COMMANDS: Final = ("SELECT", "INSERT", "UPDATE", "DELETE")

_PRIVATE: Final[dict[str, tuple[Audience, ...]]] = {c: ("own",) for c in COMMANDS}
_OWNED: Final[dict[str, tuple[Audience, ...]]] = {
    "SELECT": ("anyone",), "INSERT": ("own",), "UPDATE": ("own",), "DELETE": ("own",)
}  # fmt: skip
_CATALOG: Final[dict[str, tuple[Audience, ...]]] = {
    "SELECT": ("anyone",), "INSERT": ("admin",), "UPDATE": ("admin",), "DELETE": ("admin",)
}  # fmt: skip
_EDITORS: Final[tuple[Audience, ...]] = ("author", "editor", "admin")
_CONTENT: Final[dict[str, tuple[Audience, ...]]] = {
    "SELECT": ("anyone",), "INSERT": _EDITORS, "UPDATE": _EDITORS, "DELETE": _EDITORS
}  # fmt: skip

#: Per table, per command, who may (under `as_user`, as `learnstore_app`). The owner path is not
#: subject to it. Every table of the schema has an entry: tests/test_permissions.py fails otherwise.
MODEL: Final[dict[str, dict[str, tuple[Audience, ...]]]] = {
    **{table: _PRIVATE for table in PRIVATE_TABLES if table not in ("notifications", "user_achievements")},
    "notifications": {"SELECT": ("own",), "INSERT": ("own",), "UPDATE": ("own",), "DELETE": ("own",)},
    "user_achievements": {
        "SELECT": ("own",),
        "INSERT": ("definer",),
        "UPDATE": ("definer",),
        "DELETE": ("definer",),
    },
    "users": {"SELECT": ("anyone",), "INSERT": ("nobody",), "UPDATE": ("own",), "DELETE": ("own",)},
    "forum_posts": {**_OWNED, "UPDATE": ("own", "author"), "DELETE": ("own", "author")},
    "forum_replies": {**_OWNED, "UPDATE": ("own", "author"), "DELETE": ("own", "author")},
    "forum_post_likes": {**_OWNED, "UPDATE": ("nobody",)},
    "forum_reply_likes": {**_OWNED, "UPDATE": ("nobody",)},
    "feedback_upvotes": {**_OWNED, "UPDATE": ("nobody",)},
    "course_feedback": _OWNED,
    "flashcard_sets": {**_OWNED, "SELECT": ("anyone", "own")},
    "flashcards": {**_OWNED, "SELECT": ("anyone", "own")},
    "courses": {
        "SELECT": ("anyone",),
        "INSERT": ("own",),
        "UPDATE": ("author", "editor", "reviewer", "admin"),
        "DELETE": ("author", "admin"),
    },
    "units": _CONTENT,
    "lessons": {**_CONTENT, "UPDATE": ("author", "editor", "reviewer", "admin")},
    "media": _CONTENT,
    "quizzes": _CONTENT,
    "course_tags": {**_CONTENT, "UPDATE": ("nobody",)},
    "collaborators": {
        "SELECT": ("own", "author", "editor", "reviewer", "admin"),
        "INSERT": ("author",),
        "UPDATE": ("own", "author"),
        "DELETE": ("own", "author"),
    },
    "suggested_edits": {
        "SELECT": ("own", "author", "editor", "reviewer", "admin"),
        "INSERT": ("own",),
        "UPDATE": ("author", "reviewer"),
        "DELETE": ("nobody",),
    },
    "languages": _CATALOG,
    "tags": {**_CATALOG, "INSERT": ("author", "editor", "admin")},
    "achievements": _CATALOG,
    "user_points": {
        "SELECT": ("anyone",),
        "INSERT": ("definer",),
        "UPDATE": ("definer",),
        "DELETE": ("definer",),
    },
    "site_roles": {
        "SELECT": ("own", "admin"),
        "INSERT": ("admin",),
        "UPDATE": ("nobody",),
        "DELETE": ("admin",),
    },
    "webhook_deliveries": {command: ("nobody",) for command in COMMANDS},
    **MODERATION_TABLES,
    # The audit trail (migration 0014): written by its SECURITY DEFINER triggers only; a course's
    # author and accepted collaborators read its history.
    "audit_log": {
        "SELECT": ("author", "editor", "reviewer"),
        "INSERT": ("definer",),
        "UPDATE": ("nobody",),
        "DELETE": ("nobody",),
    },
    # Hashes of erased identities (migration 0014): written by the erase trigger, read by the
    # identity provider's webhook on the service path.
    "erased_identities": {command: ("definer",) for command in COMMANDS},
    # Workflows (migration 0017): a request is between its user and the course's author; an answer
    # to a review is owned by its author (a trigger requires the course's author).
    "collaboration_requests": {
        "SELECT": ("own", "author"),
        "INSERT": ("own",),
        "UPDATE": ("own", "author"),
        "DELETE": ("nobody",),  # goes with its course or its user (ON DELETE CASCADE)
    },
    "review_replies": _OWNED,
    # Forum pages and following (migration 0021): a follow and a mute are their user's alone (nobody
    # updates one: remove it and add another); view counters are read by anyone and written only
    # through learnstore_record_post_view (SECURITY DEFINER), which adds one view at a time.
    "forum_thread_follows": {**_PRIVATE, "UPDATE": ("nobody",)},
    "notification_mutes": {**_PRIVATE, "UPDATE": ("nobody",)},
    "forum_post_view_counts": {
        "SELECT": ("anyone",),
        "INSERT": ("definer",),
        "UPDATE": ("definer",),
        "DELETE": ("nobody",),  # goes with its post (ON DELETE CASCADE)
    },
    # Live posts per course (migration 0025): read by anyone (the feeds' totals sum them), written only
    # by the SECURITY DEFINER triggers on forum_posts; a course's row goes with it.
    "forum_course_post_counts": {
        "SELECT": ("anyone",),
        "INSERT": ("definer",),
        "UPDATE": ("definer",),
        "DELETE": ("nobody",),  # goes with its course (ON DELETE CASCADE)
    },
    # The platform's live posts (migration 0036): read by anyone (the platform-wide feed's total sums
    # them), written only by the SECURITY DEFINER trigger on forum_course_post_counts; never deleted.
    "forum_platform_post_counts": {
        "SELECT": ("anyone",),
        "INSERT": ("definer",),
        "UPDATE": ("definer",),
        "DELETE": ("nobody",),
    },
    # A user's forum activity counts (migration 0027): read by anyone (a summary anyone may show),
    # written only by the SECURITY DEFINER triggers on the forum's posts, replies and likes; a user's
    # row goes with them.
    "forum_user_activity": {
        "SELECT": ("anyone",),
        "INSERT": ("definer",),
        "UPDATE": ("definer",),
        "DELETE": ("nobody",),  # goes with its user (ON DELETE CASCADE)
    },
    # A course's summary (migration 0028): its team reads it under as_user (the roster's total; cards
    # read it through course_card_facts, the owner's view); written only by the SECURITY DEFINER
    # triggers on user_courses and course_feedback; a course's rows go with it.
    "course_stats": {
        "SELECT": ("author", "editor", "reviewer"),
        "INSERT": ("definer",),
        "UPDATE": ("definer",),
        "DELETE": ("nobody",),  # goes with its course (ON DELETE CASCADE)
    },
    # Migration 0029: the points histogram is read by anyone (the leaderboard is public), written only
    # by the SECURITY DEFINER trigger on user_points; the lesson counters are author analytics, the
    # service path's (as the statuses they count): no grant at all.
    "user_points_histogram": {
        "SELECT": ("anyone",),
        "INSERT": ("definer",),
        "UPDATE": ("definer",),
        "DELETE": ("nobody",),
    },
    "lesson_progress_counts": {command: ("nobody",) for command in COMMANDS},
    # A course's learners by name (migration 0040): read only through course_roster_entries, the
    # owner's view that shows a course's team its roster; written only by the SECURITY DEFINER
    # triggers on user_courses and users; a row goes with its enrolment.
    "course_roster_names": {command: ("nobody",) for command in COMMANDS},
    # A review's upvotes, counted (migration 0030): read like the reviews, by anyone; written only by
    # the SECURITY DEFINER triggers on course_feedback and feedback_upvotes; a row goes with its review.
    "feedback_upvote_counts": {
        "SELECT": ("anyone",),
        "INSERT": ("definer",),
        "UPDATE": ("definer",),
        "DELETE": ("nobody",),  # goes with its review (ON DELETE CASCADE)
    },
    # A course's forum events per hour (migration 0031): read by anyone (trending, a public ranking),
    # written only by the SECURITY DEFINER triggers on the forum's posts, replies and likes; a
    # course's rows go with it.
    "forum_course_activity": {
        "SELECT": ("anyone",),
        "INSERT": ("definer",),
        "UPDATE": ("definer",),
        "DELETE": ("nobody",),  # goes with its course (ON DELETE CASCADE)
    },
    # A course's leaderboard (migration 0032): read by anyone, like user_points; written only by the
    # SECURITY DEFINER triggers on user_points, user_courses and course_points. A learner's rows go
    # with their enrolment (a cascade) or with their points (the trigger); the histogram's with the
    # course.
    "course_points": {
        "SELECT": ("anyone",),
        "INSERT": ("definer",),
        "UPDATE": ("definer",),
        "DELETE": ("definer",),
    },
    "course_points_histogram": {
        "SELECT": ("anyone",),
        "INSERT": ("definer",),
        "UPDATE": ("definer",),
        "DELETE": ("nobody",),  # goes with its course (ON DELETE CASCADE)
    },
    # A set's learners (migration 0024): each learner reads their own pairs (the count is public on the
    # set); only the trigger on user_flashcard_progress writes them, and they go with the set or user.
    "flashcard_set_learners": {
        "SELECT": ("own",),
        "INSERT": ("definer",),
        "UPDATE": ("nobody",),
        "DELETE": ("nobody",),  # goes with its set or its learner (ON DELETE CASCADE)
    },
}

#: The user column a table's "own" means (for courses: its author).
OWNERS: Final[dict[str, str]] = {
    **PRIVATE_TABLES,
    **OWNED_TABLES,
    "courses": "author_clerk_id",
    "collaborators": "user_clerk_id",
    "suggested_edits": "author_clerk_id",
    "site_roles": "user_clerk_id",
    "collaboration_requests": "requester_clerk_id",
    "flashcard_set_learners": "user_clerk_id",
}
#: Tables whose rows belong to one course: "author", "editor", "reviewer" and "learner" are of it.
COURSE_SCOPED: Final = frozenset({
    "courses", "units", "lessons", "media", "quizzes", "course_tags", "collaborators", "suggested_edits",
    "forum_posts", "forum_replies", "audit_log", "collaboration_requests", "course_stats",
})  # fmt: skip

#: What a cell's audience does not say: the conditions the policies add.
_DRAFTS: Final = "a draft course and its content: only its author, editors, reviewers and admins"

NOTES: Final[dict[tuple[str, str], str]] = {
    ("notifications", "INSERT"): "and, for another user, only the notice of one's own forum action, signed"
    " `metadata.by` = the actor (a like: to the liked post's or reply's author; a reply: to the author of"
    " the thread or of a reply in it; a mention: to anyone mentioned), or a course author's invitation to"
    " the invitee; never a system notice",
    ("notifications", "UPDATE"): "`read_at` only (a column grant)",
    (
        "users",
        "UPDATE",
    ): "the profile columns only: names, avatar, bio, time zone (the rest is the identity provider's)",
    ("flashcard_sets", "SELECT"): "anyone when the set is public",
    ("flashcards", "SELECT"): "anyone when the card's set is public; written by the set's owner only",
    ("courses", "SELECT"): _DRAFTS,
    ("units", "SELECT"): _DRAFTS,
    ("lessons", "SELECT"): _DRAFTS,
    ("media", "SELECT"): _DRAFTS,
    ("quizzes", "SELECT"): _DRAFTS,
    ("course_tags", "SELECT"): _DRAFTS,
    ("courses", "UPDATE"): "a reviewer through an approved suggested edit; anyone may lock the row"
    " (enrolment), and an UPDATE by anyone else is refused with PermissionDenied",
    ("courses", "INSERT"): "in one's own name (author_clerk_id = the actor)",
    ("lessons", "UPDATE"): "a reviewer through an approved suggested edit; anyone may lock the row",
    ("collaborators", "UPDATE"): "the invitee answers (status); only the author changes a role",
    ("suggested_edits", "INSERT"): "pending and unreviewed (the review columns are not granted)",
    ("suggested_edits", "UPDATE"): "the review columns, in the reviewer's own name; its proposer only"
    " withdraws a pending edit (status `withdrawn`, unreviewed); approval applies any kind through"
    " approve_suggested_edit (SECURITY DEFINER), which admits the course's author and reviewers only",
    ("tags", "INSERT"): "the author or an editor of any course: a new tag is named when tagging a course",
    ("site_roles", "INSERT"): "in the admin's own name (granted_by = the actor)",
    ("forum_posts", "UPDATE"): "the course's author moderates its forum",
    ("forum_replies", "UPDATE"): "the course's author moderates its forum",
    ("collaboration_requests", "INSERT"): "pending, on a course open to collaboration, not by its author"
    " nor by a collaborator already accepted (a trigger)",
    ("collaboration_requests", "UPDATE"): "`status` only: the requester withdraws, the course's author"
    " accepts or declines; a decided request is final (a trigger), and an acceptance seats the requester",
    ("review_replies", "INSERT"): "only the reviewed course's author answers (a trigger), once per review",
    ("review_replies", "SELECT"): "not when the review is hidden from the actor (learnstore_visible)",
    ("forum_thread_follows", "INSERT"): "also made by a post (its author) and a reply (the replier):"
    " triggers running as the owner, which also tell the followers of a new reply",
    ("course_stats", "SELECT"): "the roster's total; everyone reads a card's counts through course_card_facts"
    " (the owner's view), never completions or progress",
    ("notification_mutes", "INSERT"): "`reply`, `mention` or `like`: a muted type is never written for"
    " its user (a trigger on notifications, for every writer)",
}


#: Every public repository method (`store.<repository>.<method>`) and the tables it writes: () for a
#: read. Under `as_user` each write is what MODEL allows on those tables, whatever the method's code
#: checks; tests/test_permissions.py fails when a method is missing here, so a new method gets a rule.
WRITES: Final[dict[str, tuple[str, ...]]] = {
    **dict.fromkeys(
        [
            "users.count_unread",
            "users.export",
            "users.get",
            "users.get_by_email",
            "users.get_or_none",
            "users.get_streak",
            "users.list_active_goals",
            "users.list_login_days",
            "users.list_notifications",
            "users.list_overdue_goals",
            "users.list_roles",
            "catalog.discover",
            "catalog.get_language",
            "catalog.get_language_or_none",
            "catalog.get_rating_summary",
            "catalog.list_course_tags",
            "catalog.list_languages",
            "catalog.list_tags",
            "content.count_lesson_quizzes_passed",
            "content.get_course",
            "content.get_course_or_none",
            "content.get_course_tree",
            "content.get_lesson",
            "content.get_lesson_or_none",
            "content.get_quiz",
            "content.get_unit",
            "content.has_passed_lesson_quizzes",
            "content.list_author_courses",
            "content.list_collaborators",
            "content.list_lessons",
            "content.list_media",
            "content.list_quiz_attempts",
            "content.list_quizzes",
            "content.list_units",
            "progress.get_course_stats",
            "progress.get_enrolment",
            "progress.get_enrolment_or_none",
            "progress.get_next_lesson",
            "progress.list_author_course_stats",
            "progress.list_courses",
            "progress.list_lesson_completions",
            "progress.list_lesson_progress",
            "deliveries.get_or_none",
            "collaboration.get_course_role",
            "edits.get_edit",
            "forum.get_post",
            "reviews.get_rating_stats",
            "forum.get_reply",
            "forum.get_thread",
            "forum.list_active_posts",
            "forum.list_activity",
            "collaboration.list_collaborators",
            "edits.list_pending_edits",
            "edits.list_edits",
            "forum.list_posts",
            "reviews.list_reviews",
            "forum.list_trending_courses",
            "forum.list_trending_tags",
            "collaboration.may_edit_course",
            "collaboration.may_review_course",
            "flashcards.count_reviewed",
            "flashcards.get_progress",
            "flashcards.get_set",
            "flashcards.list_cards",
            "flashcards.list_course_sets",
            "flashcards.list_due",
            "flashcards.list_reviews",
            "flashcards.list_user_sets",
            "flashcards.replay",
            "flashcards.retrievability",
            "favorites.favorite_ids",
            "favorites.list_page",
            "favorites.recommend",
            "achievements.get",
            "achievements.get_by_code",
            "achievements.get_or_none",
            "achievements.get_profile",
            "achievements.leaderboard",
            "achievements.list_all",
            "achievements.list_earned",
            "achievements.requirement_of",
            "pages.cards",
            "pages.author_cards",
            "pages.favorite_cards",
            "pages.dashboard_cards",
            "pages.trending_cards",
            "pages.course_page",
            "pages.lesson_statuses",
            "pages.belongings",
            "pages.roster",
            "pages.export_roster",
            "pages.search_users",
        ],
        (),
    ),
    "users.apply_clerk_event": ("users",),
    "users.update_profile": ("users",),
    "users.erase": ("users",),
    "users.record_activity": ("user_streaks", "login_days"),
    "users.recompute_streak": ("user_streaks",),
    "users.create_goal": ("learning_goals",),
    "users.set_goal_progress": ("learning_goals",),
    "users.complete_goal": ("learning_goals",),
    "users.delete_goal": ("learning_goals",),
    "users.notify": ("notifications",),
    "users.notify_course_learners": ("notifications",),
    "users.mark_read": ("notifications",),
    "users.mark_all_read": ("notifications",),
    "users.grant_role": ("site_roles",),
    "users.revoke_role": ("site_roles",),
    "catalog.create_language": ("languages",),
    "catalog.get_or_create_tag": ("tags",),
    "catalog.attach_tags": ("tags", "course_tags"),
    "catalog.detach_tags": ("course_tags",),
    "content.create_course": ("courses",),
    "content.update_course": ("courses",),
    "content.publish_course": ("courses",),
    "content.unpublish_course": ("courses",),
    "content.archive_course": ("courses",),
    "content.delete_course": ("courses",),
    "content.add_unit": ("units",),
    "content.update_unit": ("units",),
    "content.move_unit": ("units",),
    "content.delete_unit": ("units",),
    "content.add_lesson": ("lessons",),
    "content.update_lesson": ("lessons",),
    "content.move_lesson": ("lessons",),
    "content.delete_lesson": ("lessons",),
    "content.add_media": ("media",),
    "content.delete_media": ("media",),
    "content.add_quiz": ("quizzes",),
    "content.delete_quiz": ("quizzes",),
    "content.record_quiz_attempt": ("quiz_attempts",),
    "progress.enrol": ("user_courses",),
    "progress.unenrol": ("user_courses", "user_progress"),
    "progress.set_lesson_status": ("user_progress", "user_courses"),
    "progress.refresh_course": ("user_courses",),
    "imports.import_users": ("users",),
    "imports.import_course": ("courses", "units", "lessons"),
    "imports.import_courses": ("courses", "units", "lessons"),
    "imports.import_enrolments": ("user_courses",),
    "imports.import_progress": ("user_progress",),
    "imports.import_login_days": ("login_days",),
    "deliveries.record": ("webhook_deliveries",),
    "forum.create_post": ("forum_posts", "notifications"),
    "forum.edit_post": ("forum_posts",),
    "forum.delete_post": ("forum_posts",),
    "forum.reply": ("forum_replies", "notifications"),
    "forum.edit_reply": ("forum_replies",),
    "forum.delete_reply": ("forum_replies",),
    "forum.like_post": ("forum_post_likes", "notifications"),
    "forum.unlike_post": ("forum_post_likes",),
    "forum.like_reply": ("forum_reply_likes", "notifications"),
    "forum.unlike_reply": ("forum_reply_likes",),
    "collaboration.invite_collaborator": ("collaborators", "notifications"),
    "collaboration.respond_to_invitation": ("collaborators",),
    "collaboration.set_collaborator_role": ("collaborators",),
    "collaboration.remove_collaborator": ("collaborators",),
    "edits.propose_edit": ("suggested_edits",),
    "edits.approve_edit": ("suggested_edits", "courses", "lessons", "quizzes", "notifications"),
    "edits.reject_edit": ("suggested_edits", "notifications"),
    "edits.propose_change": ("suggested_edits",),
    "edits.withdraw_edit": ("suggested_edits",),
    "reviews.review_course": ("course_feedback",),
    "reviews.delete_review": ("course_feedback",),
    "reviews.upvote_review": ("feedback_upvotes",),
    "reviews.remove_upvote": ("feedback_upvotes",),
    "flashcards.create_set": ("flashcard_sets",),
    "flashcards.import_set": ("flashcard_sets", "flashcards"),
    "flashcards.update_set": ("flashcard_sets",),
    "flashcards.delete_set": ("flashcard_sets",),
    "flashcards.add_card": ("flashcards",),
    "flashcards.update_card": ("flashcards",),
    "flashcards.move_card": ("flashcards",),
    "flashcards.reorder_cards": ("flashcards",),
    "flashcards.delete_card": ("flashcards",),
    "flashcards.review": ("user_flashcard_progress", "flashcard_reviews"),
    "favorites.add": ("favorites",),
    "favorites.remove": ("favorites",),
    "achievements.create": ("achievements",),
    "achievements.update": ("achievements",),
    "achievements.delete": ("achievements",),
    "achievements.evaluate": ("user_achievements",),
    "achievements.backfill": ("user_achievements",),
    "audit.history": (),
    "audit.get": (),
    "audit.revert": ("courses", "units", "lessons", "quizzes", "media", "collaborators", "achievements"),
    "users.is_erased": (),
    "users.sync_clerk_event": ("users",),
    "moderation.list_reports": (),
    "moderation.queue": (),
    "moderation.get_suspension": (),
    "moderation.list_actions": (),
    "moderation.report": ("moderation_reports",),
    "moderation.hide": (
        "forum_posts",
        "forum_replies",
        "course_feedback",
        "moderation_reports",
        "moderation_actions",
        "notifications",
    ),
    "moderation.unhide": ("forum_posts", "forum_replies", "course_feedback", "moderation_actions"),
    "moderation.dismiss": ("moderation_reports", "moderation_actions"),
    "moderation.set_thread": ("forum_posts", "moderation_actions"),
    "moderation.suspend": ("user_suspensions", "moderation_actions", "notifications"),
    "moderation.unsuspend": ("user_suspensions", "moderation_actions"),
    "collaboration.get": (),
    "collaboration.inbox": (),
    "collaboration.list_requests": (),
    "collaboration.request": ("collaboration_requests", "notifications"),
    "collaboration.decide": ("collaboration_requests", "collaborators", "notifications"),
    "collaboration.withdraw": ("collaboration_requests",),
    "reviews.get_answer": (),
    "reviews.answer": ("review_replies", "notifications"),
    "reviews.edit_answer": ("review_replies",),
    "reviews.delete_answer": ("review_replies",),
    "lesson_items.update_quiz": ("quizzes",),
    "lesson_items.move_quiz": ("quizzes",),
    "lesson_items.update_media": ("media",),
    "lesson_items.move_media": ("media",),
    "sharing.clone_course": ("courses", "units", "lessons", "quizzes", "media", "course_tags"),
    "sharing.fork_set": ("flashcard_sets", "flashcards"),
    "sharing.browse_sets": (),
    "sharing.owner_sets": (),
    "forum_pages.feed": (),
    "forum_pages.course_feed": (),
    "forum_pages.search": (),
    "forum_pages.interest_feed": (),
    "forum_pages.views": (),
    "forum_pages.activity_summary": (),
    "forum_pages.record_view": ("forum_post_view_counts",),
    "follows.is_following": (),
    "follows.list_followed": (),
    "follows.list_muted": (),
    "follows.follow": ("forum_thread_follows",),
    "follows.unfollow": ("forum_thread_follows",),
    "follows.mute": ("notification_mutes",),
    "follows.unmute": ("notification_mutes",),
    "users.delete_notification": ("notifications",),
    "users.delete_notifications": ("notifications",),
}


def model_table() -> str:
    """The model as the Markdown table docs/security.md shows."""
    lines = ["| table | " + " | ".join(COMMANDS) + " |", "|---|" + "---|" * len(COMMANDS)]
    for table in sorted(MODEL):
        cells = []
        for command in COMMANDS:
            cell = ", ".join(MODEL[table][command])
            if (table, command) in NOTES:
                cell += " (" + NOTES[table, command] + ")"
            cells.append(cell)
        lines.append(f"| `{table}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
