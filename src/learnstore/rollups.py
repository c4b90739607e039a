"""The rollups `learnstore maintain` keeps small: trending's past hours folded to one row each.

forum_course_activity holds a course's forum events per hour in up to 16 shard rows, so that the
writers of a busy course do not queue on one row; trending's read sums every row of its window. Once
an hour is past its writers are few, and `fold_activity` folds its shards into one row, exactly,
while they write (sql/schema/99_forum_course_activity.sql, forum_course_activity_fold).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg

from learnstore.errors import InvalidValue

__all__ = ["FOLD_GROUPS", "fold_activity"]

#: (course, hour) pairs folded per transaction: each holds their rows' locks for a few milliseconds
FOLD_GROUPS = 500


def fold_activity(
    conn: psycopg.Connection[Any], *, before: datetime | None = None, groups: int = FOLD_GROUPS
) -> int:
    """Fold the shards of every (course, hour) before the hour of `before` (default: now, so every
    past hour) into one row, `groups` pairs a transaction, each waiting at most 3 s for its locks;
    returns how many rows it removed. Idempotent: a second run finds nothing to fold. `conn` is in
    autocommit (as `learnstore maintain` opens it)."""
    if groups < 1:
        raise InvalidValue("groups must be 1 or more", field="groups")
    until = (before or datetime.now(UTC)).astimezone(UTC)
    removed = 0
    while True:
        with conn.transaction():
            conn.execute("SET LOCAL lock_timeout = '3s'")
            query = "SELECT forum_course_activity_fold(%s, %s::integer)"
            row = conn.execute(query, [until, groups]).fetchone()
        batch = int(row[0]) if row else 0
        if batch == 0:
            return removed
        removed += batch
