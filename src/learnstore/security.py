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
    "COMMANDS",
    "COURSE_SCOPED",
    "MIGRATION_ID",
    "MODEL",
    "NOTES",
    "OWNED_TABLES",
    "OWNERS",
    "PRIVATE_TABLES",
    "SHARED_TABLES",
    "SITE_ROLES_TABLE",
    "Audience",
    "drop_role_sql",
    "model_table",
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
}

#: Tables with a user FK and no row-level security, and why: who may change them is a rule of the
#: service (an author and the course's collaborators), not "the row's own user".
SHARED_TABLES: Final[dict[str, str]] = {
    "courses": "edited by its author and collaborators; read by everyone once published",
    "collaborators": "a course's team: granted and read by the course's author and team",
    "suggested_edits": "written by one user and reviewed by another (the reviewer writes the row)",
    "user_points": "written only by the award evaluation (SECURITY DEFINER); learnstore_app may only read it",
}

#: Site-wide roles (migration 0013): each user reads their own, an admin reads, grants and revokes all.
SITE_ROLES_TABLE: Final = "site_roles"


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
}

#: The user column a table's "own" means (for courses: its author).
OWNERS: Final[dict[str, str]] = {
    **PRIVATE_TABLES,
    **OWNED_TABLES,
    "courses": "author_clerk_id",
    "collaborators": "user_clerk_id",
    "suggested_edits": "author_clerk_id",
    "site_roles": "user_clerk_id",
}
#: Tables whose rows belong to one course: "author", "editor", "reviewer" and "learner" are of it.
COURSE_SCOPED: Final = frozenset({
    "courses", "units", "lessons", "media", "quizzes", "course_tags", "collaborators", "suggested_edits",
    "forum_posts", "forum_replies",
})  # fmt: skip

#: What a cell's audience does not say: the conditions the policies add.
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
    ("courses", "UPDATE"): "a reviewer through an approved suggested edit; anyone may lock the row"
    " (enrolment), and an UPDATE by anyone else is refused with PermissionDenied",
    ("courses", "INSERT"): "in one's own name (author_clerk_id = the actor)",
    ("lessons", "UPDATE"): "a reviewer through an approved suggested edit; anyone may lock the row",
    ("collaborators", "UPDATE"): "the invitee answers (status); only the author changes a role",
    ("suggested_edits", "INSERT"): "pending and unreviewed (the review columns are not granted)",
    ("suggested_edits", "UPDATE"): "the review columns, in the reviewer's own name",
    ("tags", "INSERT"): "the author or an editor of any course: a new tag is named when tagging a course",
    ("site_roles", "INSERT"): "in the admin's own name (granted_by = the actor)",
    ("forum_posts", "UPDATE"): "the course's author moderates its forum",
    ("forum_replies", "UPDATE"): "the course's author moderates its forum",
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
