"""GDPR export and erasure cover every table that refers to users, as the catalog lists them."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from learnstore import Store

# Tables whose rows others rely on: erasing the author keeps the row, without the author.
SHARED = {
    "courses", "forum_posts", "forum_replies", "suggested_edits", "course_feedback",
    "moderation_reports", "moderation_actions", "review_replies",
}  # fmt: skip


def user_references(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    """(table, column) of every foreign key to users, from the catalog."""
    rows = conn.execute(
        """
        SELECT c.conrelid::regclass::text, a.attname
        FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        WHERE c.contype = 'f' AND c.confrelid = 'users'::regclass
          AND c.conparentid = 0  -- a partition's copy of its parent's foreign key is the parent's
        ORDER BY 1, 2
        """
    ).fetchall()
    return [(table, column) for table, column in rows]


def everything_about(conn: psycopg.Connection[Any], clerk_id: str) -> None:
    """One row in every table that refers to users, each referring to `clerk_id`."""
    store = Store.on(conn)
    store.users.apply_clerk_event({"type": "user.created", "data": {"id": "other", "updated_at": 1}})
    store.users.apply_clerk_event({"type": "user.created", "data": {"id": clerk_id, "updated_at": 1}})
    store.users.record_activity(clerk_id)
    store.users.create_goal(clerk_id, "Learn")
    store.users.notify(clerk_id, "system", "Welcome")
    conn.execute(
        """
        WITH course AS (
            INSERT INTO courses (author_clerk_id, title) VALUES (%(u)s, 'Mine') RETURNING id
        ), unit AS (
            INSERT INTO units (course_id, title, position) SELECT id, 'U', 0 FROM course RETURNING id
        ), lesson AS (
            INSERT INTO lessons (unit_id, title, content_type, content, position)
            SELECT id, 'L', 'text', '{"body": "b"}', 0 FROM unit RETURNING id
        ), quiz AS (
            INSERT INTO quizzes (lesson_id, question, question_type, correct_answer)
            SELECT id, 'Q?', 'flashcard', '"A"' FROM lesson RETURNING id
        ), attempt AS (
            INSERT INTO quiz_attempts (quiz_id, user_clerk_id, answer, is_correct)
            SELECT id, %(u)s, '"a"', true FROM quiz
        ), enrol AS (
            INSERT INTO user_courses (user_clerk_id, course_id) SELECT %(u)s, id FROM course
        ), progress AS (
            INSERT INTO user_progress (user_clerk_id, lesson_id) SELECT %(u)s, id FROM lesson
        ), post AS (
            INSERT INTO forum_posts (course_id, author_clerk_id, title, body)
            SELECT id, %(u)s, 'Q', 'Body' FROM course RETURNING id
        ), reply AS (
            INSERT INTO forum_replies (post_id, author_clerk_id, body)
            SELECT id, %(u)s, 'A' FROM post RETURNING id
        ), post_like AS (
            INSERT INTO forum_post_likes (post_id, user_clerk_id) SELECT id, %(u)s FROM post
        ), reply_like AS (
            INSERT INTO forum_reply_likes (reply_id, user_clerk_id) SELECT id, %(u)s FROM reply
        ), collaborator AS (
            INSERT INTO collaborators (course_id, user_clerk_id) SELECT id, %(u)s FROM course
        ), edit AS (
            INSERT INTO suggested_edits (course_id, author_clerk_id, reviewer_clerk_id, summary, payload,
                                         status, reviewed_at)
            SELECT id, %(u)s, %(u)s, 'Fix', '{"title": "T"}', 'approved', now() FROM course
        ), feedback AS (
            INSERT INTO course_feedback (course_id, user_clerk_id, rating) SELECT id, %(u)s, 5 FROM course
            RETURNING id
        ), upvote AS (
            INSERT INTO feedback_upvotes (feedback_id, user_clerk_id) SELECT id, %(u)s FROM feedback
        ), achievement AS (
            INSERT INTO achievements (code, title, requirement)
            VALUES ('first', 'First', '{"kind": "lessons_completed", "threshold": 1}') RETURNING id
        ), award AS (
            INSERT INTO user_achievements (user_clerk_id, achievement_id, earned_at)
            SELECT %(u)s, id, now() FROM achievement
        ), deck AS (
            INSERT INTO flashcard_sets (owner_clerk_id, title) VALUES (%(u)s, 'Deck') RETURNING id
        ), card AS (
            INSERT INTO flashcards (set_id, front, back) SELECT id, 'f', 'b' FROM deck RETURNING id
        ), review AS (
            INSERT INTO flashcard_reviews (user_clerk_id, flashcard_id, review_number, rating, reviewed_at,
                                           state_before, state_after, stability_after, difficulty_after,
                                           due_after)
            SELECT %(u)s, id, 1, 3, now(), 'new', 'learning', 2.3, 2.1, now() + interval '10 minutes'
            FROM card
        ), favorite AS (
            INSERT INTO favorites (user_clerk_id, course_id) SELECT %(u)s, id FROM course
        ), site_role AS (
            INSERT INTO site_roles (user_clerk_id, role, granted_by) VALUES (%(u)s, 'moderator', %(u)s)
        ), mute AS (
            -- (forum_thread_follows: the user follows their post, by its trigger)
            INSERT INTO notification_mutes (user_clerk_id, type) VALUES (%(u)s, 'like')
        )
        INSERT INTO user_flashcard_progress (user_clerk_id, flashcard_id) SELECT %(u)s, id FROM card
        """,
        {"u": clerk_id},
    )
    # A change made as the user (as_user's setting) is theirs in the audit trail.
    conn.execute("SELECT set_config('learnstore.clerk_id', %s, true)", [clerk_id])
    conn.execute("UPDATE courses SET title = 'Mine, renamed' WHERE author_clerk_id = %s", [clerk_id])
    conn.execute("SELECT set_config('learnstore.clerk_id', '', true)")
    # Statements of their own: the triggers of 0017 read the course and the review these refer to.
    conn.execute(
        """
        WITH course AS (
            INSERT INTO courses (author_clerk_id, title, open_to_collaboration)
            VALUES ('other', 'Theirs', true) RETURNING id
        )
        INSERT INTO collaboration_requests (course_id, requester_clerk_id, role)
        SELECT id, %(u)s, 'editor' FROM course
        """,
        {"u": clerk_id},
    )
    conn.execute(
        """
        INSERT INTO review_replies (feedback_id, author_clerk_id, body)
        SELECT f.id, %(u)s, 'Thanks' FROM course_feedback f WHERE f.user_clerk_id = %(u)s
        """,
        {"u": clerk_id},
    )
    # Moderation (migration 0015): a report filed and resolved, an action taken and suffered, a
    # suspension given and served: the user is on both sides of each.
    conn.execute(
        """
        WITH post AS (
            SELECT id FROM forum_posts WHERE author_clerk_id = %(u)s LIMIT 1
        ), report AS (
            INSERT INTO moderation_reports
                (reporter_clerk_id, post_id, reason, status, resolved_by, resolved_at)
            SELECT %(u)s, id, 'Spam', 'resolved', %(u)s, now() FROM post
        ), action AS (
            INSERT INTO moderation_actions (moderator_clerk_id, action, post_id, subject_clerk_id, reason)
            SELECT %(u)s, 'hide', id, %(u)s, 'Spam' FROM post
        )
        SELECT
        """,
        {"u": clerk_id},
    )
    # Last: from here on the user's own writes are refused.
    conn.execute(
        "INSERT INTO user_suspensions (user_clerk_id, suspended_until, reason, suspended_by)"
        " VALUES (%(u)s, now() + interval '1 day', 'Spam', %(u)s)",
        {"u": clerk_id},
    )


def count_referring(conn: psycopg.Connection[Any], table: str, column: str, clerk_id: str) -> int:
    query = sql.SQL("SELECT count(*) FROM {} WHERE {} = %s").format(
        sql.Identifier(table), sql.Identifier(column)
    )
    row = conn.execute(query, (clerk_id,)).fetchone()
    assert row is not None
    return int(row[0])


def test_every_table_that_refers_to_users_has_a_row_in_the_fixture(db_conn: psycopg.Connection[Any]) -> None:
    everything_about(db_conn, "user_gdpr")
    for table, column in user_references(db_conn):
        assert count_referring(db_conn, table, column, "user_gdpr") >= 1, f"{table}.{column}"


def test_export_holds_every_table_that_refers_to_users(db_conn: psycopg.Connection[Any]) -> None:
    everything_about(db_conn, "user_gdpr")
    document = Store.on(db_conn).users.export("user_gdpr")
    for table, column in user_references(db_conn):
        rows = document[table]
        assert any(row[column] == "user_gdpr" for row in rows), f"{table}.{column} missing from the export"
    assert document["users"][0]["clerk_id"] == "user_gdpr"
    assert all(row.get("user_clerk_id") != "other" for rows in document.values() for row in rows)


def test_erase_leaves_no_row_tied_to_the_user_and_keeps_shared_content(
    db_conn: psycopg.Connection[Any],
) -> None:
    everything_about(db_conn, "user_gdpr")
    shared_before = {
        table: count_referring(db_conn, table, column, "user_gdpr")
        for table, column in user_references(db_conn)
        if table in SHARED
    }
    assert Store.on(db_conn).users.erase("user_gdpr") is True
    for table, column in user_references(db_conn):
        assert count_referring(db_conn, table, column, "user_gdpr") == 0, f"{table}.{column} still refers"
    for table, before in shared_before.items():
        kept = db_conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
        assert kept is not None and kept[0] >= before, f"{table} lost rows others rely on"
    row = db_conn.execute("SELECT body, author_clerk_id FROM forum_replies").fetchone()
    assert row == ("A", None)
    assert Store.on(db_conn).users.get_or_none("other") is not None
