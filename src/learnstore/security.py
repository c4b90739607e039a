"""Row-level security: which tables are private, owned or shared, and the SQL of the roles.

The policies themselves are in sql/schema/90_security.sql (migration 0009); this module names the
tables each kind of policy covers, so that the CLI, the docs and the tests read one list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

__all__ = [
    "APP_ROLE",
    "MIGRATION_ID",
    "OWNED_TABLES",
    "PRIVATE_TABLES",
    "REQUEST_TABLES",
    "SHARED_TABLES",
    "drop_role_sql",
    "role_sql",
]

#: The non-owner role `store.as_user()` runs every operation under.
APP_ROLE: Final = "learnstore_app"
#: the migration that creates the role and the policies
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

#: Rows between a user and a course's author (migration 0017): the row's user and the course's
#: author see it; the user inserts it in their own name and may only withdraw it; the author
#: decides it; nobody deletes it (the course or the user going takes it).
REQUEST_TABLES: Final[dict[str, str]] = {
    "collaboration_requests": "requester_clerk_id",
}

#: Tables with a user FK and no row-level security, and why: who may change them is a rule of the
#: service (an author and the course's collaborators), not "the row's own user".
SHARED_TABLES: Final[dict[str, str]] = {
    "courses": "edited by its author and collaborators; read by everyone once published",
    "collaborators": "a course's team: granted and read by the course's author and team",
    "suggested_edits": "written by one user and reviewed by another (the reviewer writes the row)",
    "user_points": "written only by the award evaluation (SECURITY DEFINER); learnstore_app may only read it",
}


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
