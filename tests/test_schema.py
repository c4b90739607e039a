"""The schema's promises, read from PostgreSQL's catalog and tried with real rows."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql
from psycopg.abc import Params, QueryNoTemplate

from learnstore.errors import _parent_names, translate
from learnstore.migrate import rollback, upgrade
from learnstore.pytest_plugin import create_database, drop_database, unique_name

Conn = psycopg.Connection[Any]

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "sql" / "schema"

# The seed names these 28 tables; each must exist whatever else is added later.
SEED_TABLES = frozenset({
    "users", "user_streaks", "login_days", "learning_goals", "notifications",
    "languages", "tags",
    "courses", "units", "lessons", "media", "quizzes", "course_tags",
    "user_courses", "user_progress",
    "forum_posts", "forum_replies", "forum_post_likes", "forum_reply_likes", "collaborators",
    "suggested_edits", "course_feedback", "feedback_upvotes",
    "achievements", "user_achievements",
    "flashcard_sets", "flashcards", "user_flashcard_progress",
})  # fmt: skip

# yoyo's bookkeeping tables live in public too; they are not ours.
NOT_YOYO = "c.relname !~ '^(_yoyo_|yoyo_lock$)'"
# The conventions are the tables' own: a partition (of a log partitioned by month, 96_partitions.sql)
# inherits its parent's columns, keys and triggers, and has names PostgreSQL makes up.
OURS = f"{NOT_YOYO} AND NOT c.relispartition"

# PostgreSQL's own name for an unnamed CHECK, and the number it appends when a name is taken.
AUTO_NAMED = re.compile(r"(_check\d*|\d)$")
# Names are cut at NAMEDATALEN - 1 bytes without an error: a name that long was probably cut.
MAX_NAME = 63


def scalar(conn: Conn, query: QueryNoTemplate, params: Params | None = None) -> Any:
    row = conn.execute(query, params).fetchone()
    assert row is not None, "the query returned no row"
    return row[0]


def rows(conn: Conn, query: QueryNoTemplate, params: Params | None = None) -> list[tuple[Any, ...]]:
    return conn.execute(query, params).fetchall()


def our_tables(conn: Conn) -> list[str]:
    return [
        name
        for (name,) in rows(
            conn,
            "SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace"
            f" AND c.relkind IN ('r', 'p') AND {OURS} ORDER BY 1",
        )
    ]


def constraint_kinds(conn: Conn) -> dict[str, str]:
    """Every CHECK (c), UNIQUE (u), PRIMARY KEY (p) and FOREIGN KEY (f) by name; unique indexes are u."""
    found = rows(
        conn,
        f"""
        SELECT k.conname, k.contype::text FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
        WHERE c.relnamespace = 'public'::regnamespace AND k.contype IN ('c', 'u', 'p', 'f') AND {OURS}
        UNION ALL
        SELECT ci.relname, 'u'
        FROM pg_index i JOIN pg_class ci ON ci.oid = i.indexrelid JOIN pg_class c ON c.oid = i.indrelid
        WHERE c.relnamespace = 'public'::regnamespace AND i.indisunique AND {OURS}
          AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = i.indexrelid)
        """,
    )
    return dict(found)


@dataclass(frozen=True)
class ForeignKey:
    name: str
    table: str
    columns: list[str]
    attnums: list[int]
    target: str
    target_columns: list[str]
    on_delete: str
    on_update: str


def foreign_keys(conn: Conn) -> list[ForeignKey]:
    found = rows(
        conn,
        """
        SELECT k.conname, k.conrelid::regclass::text,
               array(SELECT attname FROM unnest(k.conkey) WITH ORDINALITY AS u(n, o)
                     JOIN pg_attribute ON attrelid = k.conrelid AND attnum = u.n ORDER BY u.o),
               k.conkey::int[],
               k.confrelid::regclass::text,
               array(SELECT attname FROM unnest(k.confkey) WITH ORDINALITY AS u(n, o)
                     JOIN pg_attribute ON attrelid = k.confrelid AND attnum = u.n ORDER BY u.o),
               k.confdeltype::text, k.confupdtype::text
        FROM pg_constraint k
        WHERE k.contype = 'f' AND k.connamespace = 'public'::regnamespace
          AND NOT (SELECT relispartition FROM pg_class WHERE oid = k.conrelid)  -- a parent's, cloned
        ORDER BY 1
        """,
    )
    return [ForeignKey(*row) for row in found]


# ---- the catalog -----------------------------------------------------------------------------------


def test_every_table_of_the_seed_exists(db_conn: Conn) -> None:
    assert SEED_TABLES - set(our_tables(db_conn)) == set()


def column_shapes(conn: Conn, name: str) -> dict[str, tuple[Any, ...]]:
    """Per table, the type, NOT NULL and default of its column `name` (all None when it has none)."""
    found = rows(
        conn,
        f"""
        SELECT c.relname, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid)
        FROM pg_class c
        LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = %s AND NOT a.attisdropped
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND {OURS}
        """,
        [name],
    )
    return {table: tuple(shape) for table, *shape in found}


def test_every_table_has_a_uuid_id_generated_by_default(db_conn: Conn) -> None:
    shapes = column_shapes(db_conn, "id")
    assert {table: shape for table, shape in shapes.items() if shape != ("uuid", True, "uuidv7()")} == {}
    assert len(shapes) >= len(SEED_TABLES)


def test_ids_are_uuid_version_7_in_the_order_they_were_made(db_conn: Conn) -> None:
    # Time-ordered (migration 0035): a new row's key lands on the index's right edge.
    before = int(scalar(db_conn, "SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint"))
    made = []
    for _ in range(5):
        made.append(scalar(db_conn, "SELECT uuidv7()"))
        db_conn.execute("SELECT pg_sleep(0.002)")
    after = int(scalar(db_conn, "SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint"))
    assert [(u.version, u.variant) for u in made] == [(7, "specified in RFC 4122")] * 5
    assert made == sorted(made) and len(set(made)) == 5
    stamps = [int.from_bytes(u.bytes[:6], "big") for u in made]
    assert before <= stamps[0] and stamps[-1] <= after
    # the other 74 bits stay random: 1,000 ids made in one statement (mostly the same millisecond) differ
    assert scalar(db_conn, "SELECT count(DISTINCT uuidv7()) FROM generate_series(1, 1000)") == 1000
    db_conn.execute("INSERT INTO tags (name) VALUES ('uuidv7-check')")
    tag = scalar(db_conn, "SELECT id FROM tags WHERE name = 'uuidv7-check'")
    assert tag.version == 7


def test_every_primary_key_is_id_alone(db_conn: Conn) -> None:
    keys = dict(
        rows(
            db_conn,
            f"""
            SELECT c.relname,
                   array(SELECT a.attname FROM pg_constraint k
                         JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey)
                         WHERE k.conrelid = c.oid AND k.contype = 'p' ORDER BY a.attnum = 1 DESC, a.attnum)
                   -- a partitioned table's key must hold its partition column: (id, column)
                   = ARRAY['id'::name] || array(SELECT a.attname FROM pg_partitioned_table p
                                                JOIN pg_attribute a ON a.attrelid = p.partrelid
                                                 AND a.attnum = ANY (p.partattrs)
                                                WHERE p.partrelid = c.oid)
            FROM pg_class c
            WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND {OURS}
            """,
        )
    )
    assert {table for table, key_is_id in keys.items() if not key_is_id} == set()
    assert len(keys) >= len(SEED_TABLES)


@pytest.mark.parametrize("column", ["created_at", "updated_at"])
def test_every_table_has_timestamptz_not_null_default_now(db_conn: Conn, column: str) -> None:
    shapes = column_shapes(db_conn, column)
    wanted = ("timestamp with time zone", True, "now()")
    assert {table: shape for table, shape in shapes.items() if shape != wanted} == {}
    assert len(shapes) >= len(SEED_TABLES)


def test_every_table_keeps_updated_at_by_a_before_update_trigger(db_conn: Conn) -> None:
    # tgtype bits: 1 = FOR EACH ROW, 2 = BEFORE, 16 = UPDATE. An `UPDATE OF col` trigger (tgattr
    # not empty) would miss updates to other columns, and a disabled one (tgenabled 'D') does nothing.
    missing = rows(
        db_conn,
        f"""
        SELECT c.relname FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND {OURS}
          AND NOT EXISTS (
              SELECT FROM pg_trigger t
              WHERE t.tgrelid = c.oid AND t.tgfoid = 'set_updated_at()'::regprocedure
                AND t.tgtype & 19 = 19 AND cardinality(t.tgattr::int2[]) = 0 AND t.tgenabled <> 'D')
        ORDER BY 1
        """,
    )
    assert missing == []


def test_every_foreign_key_is_led_by_an_index(db_conn: Conn) -> None:
    # PostgreSQL indexes the referenced key but not the referencing columns: without an index whose
    # leading columns are the FK's, every delete of a parent scans the whole child table.
    indexes: dict[str, list[list[int]]] = {}
    for table, keys in rows(
        db_conn,
        """
        SELECT i.indrelid::regclass::text,
               (string_to_array(i.indkey::text, ' ')::int[])[1:i.indnkeyatts]
        FROM pg_index i
        WHERE i.indisvalid AND i.indpred IS NULL
        """,
    ):
        indexes.setdefault(table, []).append(keys)
    fks = foreign_keys(db_conn)
    uncovered = [
        fk.name
        for fk in fks
        if not any(
            sorted(keys[: len(fk.attnums)]) == sorted(fk.attnums) for keys in indexes.get(fk.table, [])
        )
    ]
    assert uncovered == []
    assert len(fks) > len(SEED_TABLES)


def test_every_foreign_key_says_what_happens_on_delete(db_conn: Conn) -> None:
    # 'a' is NO ACTION, what an FK gets when its author said nothing.
    fks = foreign_keys(db_conn)
    assert [fk.name for fk in fks if fk.on_delete == "a"] == []
    assert fks


def test_users_are_referenced_by_clerk_id_with_on_update_cascade(db_conn: Conn) -> None:
    to_users = [fk for fk in foreign_keys(db_conn) if fk.target == "users"]
    wrong = [fk.name for fk in to_users if fk.target_columns != ["clerk_id"] or fk.on_update != "c"]
    assert wrong == []
    assert to_users


def test_every_clerk_id_column_outside_users_is_a_foreign_key_to_users(db_conn: Conn) -> None:
    # an enrolment's copies (course_points) reference the enrolment, which references the user
    referencing = {
        (fk.table, column)
        for fk in foreign_keys(db_conn)
        if fk.target in ("users", "user_courses")
        for column in fk.columns
        if column.endswith("clerk_id")
    }
    named = set(
        rows(
            db_conn,
            f"""
            SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND {OURS}
              AND a.attname LIKE '%clerk_id' AND NOT a.attisdropped AND c.relname <> 'users'
            """,
        )
    )
    assert named - referencing == set()
    assert named


def test_every_constraint_index_and_trigger_is_named_for_its_table(db_conn: Conn) -> None:
    found = rows(
        db_conn,
        f"""
        SELECT 'constraint', k.contype::text, c.relname, k.conname
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
        WHERE c.relnamespace = 'public'::regnamespace AND {OURS}
        UNION ALL
        SELECT 'index', CASE WHEN i.indisprimary THEN 'p' WHEN i.indisunique THEN 'u' ELSE 'i' END,
               c.relname, ci.relname
        FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class ci ON ci.oid = i.indexrelid
        WHERE c.relnamespace = 'public'::regnamespace AND {OURS}
        UNION ALL
        SELECT 'trigger', 't', c.relname, t.tgname
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace = 'public'::regnamespace AND {OURS} AND NOT t.tgisinternal
        """,
    )
    # The ending says what kind of rule broke, as PostgreSQL's own names do: _pkey, _key, _fkey, _idx.
    endings = {"p": ("_pkey",), "u": ("_key",), "f": ("_fkey",), "i": ("_idx",)}
    wrong = [
        (what, table, name)
        for what, kind, table, name in found
        if not name.startswith(f"{table}_")
        or (kind == "p" and name != f"{table}_pkey")
        or not name.endswith(endings.get(kind, ("",)))
        or AUTO_NAMED.search(name)
        or len(name) >= MAX_NAME
    ]
    assert wrong == []
    assert len(found) > 3 * len(SEED_TABLES)


def test_every_jsonb_column_has_a_shape_check(db_conn: Conn) -> None:
    checked = dict(
        rows(
            db_conn,
            f"""
            SELECT format('%s.%s', c.relname, a.attname),
                   EXISTS (SELECT FROM pg_constraint k
                           WHERE k.conrelid = c.oid AND k.contype = 'c' AND a.attnum = ANY (k.conkey)
                             AND strpos(pg_get_constraintdef(k.oid),
                                        format('jsonb_typeof(%s)', a.attname)) > 0)
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND {OURS}
              AND a.atttypid = 'jsonb'::regtype AND NOT a.attisdropped
            """,
        )
    )
    assert [name for name, ok in checked.items() if not ok] == []
    # lessons.content, achievements.requirement, notifications.metadata, suggested_edits.payload,
    # quizzes.options and quizzes.correct_answer
    assert len(checked) >= 6


def test_every_table_is_documented_by_a_comment(db_conn: Conn) -> None:
    bare = rows(
        db_conn,
        f"""
        SELECT c.relname FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND {OURS}
          AND coalesce(obj_description(c.oid, 'pg_class'), '') = ''
        """,
    )
    assert bare == []


# The logs partitioned by month (sql/schema/96_partitions.sql).
PARTITIONED_LOGS = frozenset({"login_days", "flashcard_reviews"})


# ---- one valid row in every table ------------------------------------------------------------------

# Two people: clerk_a authors the course and reviews; clerk_b learns and writes in the forum.
# (key, table and columns, values): each row's id is stored under its key, and later rows refer
# to earlier ones by key. The key is the table's name, except for the second user.
WORLD: tuple[tuple[str, str, str], ...] = (
    ("user_a", "users (clerk_id, email, first_name)", "'clerk_a', 'ada@example.com', 'Ada'"),
    ("users", "users (clerk_id, email, first_name, last_name, avatar_url, bio, timezone)",
     "'clerk_b', 'bo@example.com', 'Bo', 'Silva', 'https://img.example.com/bo.png', 'Learning.',"
     " 'America/Sao_Paulo'"),
    ("user_streaks", "user_streaks (user_clerk_id, current_streak, longest_streak, last_active_date)",
     "'clerk_b', 2, 5, '2024-03-02'"),
    ("login_days", "login_days (user_clerk_id, day)", "'clerk_b', '2024-03-02'"),
    ("learning_goals", "learning_goals (user_clerk_id, title, description, target_date, progress)",
     "'clerk_b', 'Order a coffee', 'In Lisbon', '2024-06-01', 40"),
    ("notifications", "notifications (user_clerk_id, type, message, source_type, metadata)",
     """'clerk_b', 'reply', 'Ada replied', 'forum_reply', '{"by": "clerk_a"}'"""),
    ("languages", "languages (code, name)", "'pt-BR', 'Brazilian Portuguese'"),
    ("tags", "tags (name)", "'Grammar'"),
    ("courses", "courses (author_clerk_id, title, description, difficulty, estimated_duration_minutes,"
     " cover_image_url, language_id, status, published_at, open_to_collaboration)",
     "'clerk_a', 'Portuguese for travellers', 'Phrases', 'beginner', 90, 'https://img.example.com/pt.png',"
     " %(languages)s, 'published', now(), true"),
    ("units", "units (course_id, title, position)", "%(courses)s, 'Greetings', 0"),
    ("lessons", "lessons (unit_id, title, content_type, content, duration_seconds, position)",
     """%(units)s, 'Saying hello', 'text', '{"body": "Olá!"}', 300, 0"""),
    # Counters of migration 0029, made before the rows their triggers count (which then add to them
    # or to another shard's row).
    ("lesson_progress_counts", "lesson_progress_counts (lesson_id, shard)", "%(lessons)s, 0"),
    ("user_points_histogram", "user_points_histogram (points, shard)", "0, 0"),
    ("media", "media (lesson_id, media_type, url, title)",
     "%(lessons)s, 'audio', 'https://cdn.example.com/ola.mp3', 'Olá'"),
    ("quizzes", "quizzes (lesson_id, question, question_type, options, correct_answer)",
     """%(lessons)s, 'Hello is…', 'mcq', '["Olá", "Tchau"]', '"Olá"'"""),
    ("quiz_attempts", "quiz_attempts (quiz_id, user_clerk_id, answer, is_correct)",
     """%(quizzes)s, 'clerk_b', '"Olá"', true"""),
    ("course_tags", "course_tags (course_id, tag_id)", "%(courses)s, %(tags)s"),
    # The course's summary shard of clerk_b (migration 0028) before their enrolment and rating, which
    # its triggers then count into it.
    ("course_stats", "course_stats (course_id, shard)", "%(courses)s, course_stats_shard('clerk_b')"),
    ("user_courses", "user_courses (user_clerk_id, course_id, progress)", "'clerk_b', %(courses)s, 50"),
    ("user_progress", "user_progress (user_clerk_id, lesson_id, status, started_at, completed_at)",
     "'clerk_b', %(lessons)s, 'completed', now(), now()"),
    # The course's post counter (migration 0025) before its first post, which the trigger then counts.
    ("forum_course_post_counts", "forum_course_post_counts (course_id)", "%(courses)s"),
    # A shard of the platform's post counts (migration 0036), which the course's published posts add to.
    ("forum_platform_post_counts", "forum_platform_post_counts (shard)", "0"),
    # clerk_a's forum counts (migration 0027) before their likes, which the triggers then add.
    ("forum_user_activity", "forum_user_activity (clerk_id)", "'clerk_a'"),
    # The course's forum events this hour (migration 0031) before its post, which the triggers add.
    ("forum_course_activity", "forum_course_activity (course_id, bucket)",
     "%(courses)s, forum_activity_hour(now())"),
    ("forum_posts", "forum_posts (course_id, author_clerk_id, title, body)",
     "%(courses)s, 'clerk_b', 'Pronunciation', 'How do I say ão?'"),
    ("forum_replies", "forum_replies (post_id, author_clerk_id, body)",
     "%(forum_posts)s, 'clerk_b', 'Through the nose.'"),
    ("forum_post_likes", "forum_post_likes (post_id, user_clerk_id)", "%(forum_posts)s, 'clerk_a'"),
    ("forum_reply_likes", "forum_reply_likes (reply_id, user_clerk_id)", "%(forum_replies)s, 'clerk_a'"),
    ("collaborators", "collaborators (course_id, user_clerk_id, role)", "%(courses)s, 'clerk_b', 'reviewer'"),
    ("suggested_edits", "suggested_edits (course_id, lesson_id, author_clerk_id, summary, payload, status,"
     " reviewer_clerk_id, reviewed_at)",
     """%(courses)s, %(lessons)s, 'clerk_b', 'Fix a typo', '{"title": "Hi"}', 'approved', 'clerk_a',"""
     " now()"),
    ("course_feedback", "course_feedback (course_id, user_clerk_id, rating, comment)",
     "%(courses)s, 'clerk_b', 5, 'Obrigado!'"),
    # The review's upvote count (migration 0030): its trigger made the row with the review, so the
    # world's row is that one (an upsert that changes nothing); the upvote below then counts into it.
    ("feedback_upvote_counts", "feedback_upvote_counts (feedback_id, course_id, feedback_created_at)",
     "%(course_feedback)s, %(courses)s,"
     " (SELECT created_at FROM course_feedback WHERE id = %(course_feedback)s))"
     " ON CONFLICT (feedback_id) DO UPDATE SET upvotes = (feedback_upvote_counts.upvotes"),
    ("feedback_upvotes", "feedback_upvotes (feedback_id, user_clerk_id)", "%(course_feedback)s, 'clerk_a'"),
    ("collaboration_requests", "collaboration_requests (course_id, requester_clerk_id, role, message)",
     "%(courses)s, 'clerk_b', 'editor', 'I can help'"),
    ("review_replies", "review_replies (feedback_id, author_clerk_id, body)",
     "%(course_feedback)s, 'clerk_a', 'Obrigada!'"),
    ("achievements", "achievements (code, title, icon_url, points, requirement)",
     """'first-lesson', 'First lesson', 'https://img.example.com/1.png', 10,"""
     """ '{"kind": "lessons_completed", "threshold": 1}'"""),
    ("user_achievements", "user_achievements (user_clerk_id, achievement_id, progress, earned_at)",
     "'clerk_b', %(achievements)s, 1, now()"),
    # clerk_b's row is made by the award's trigger; clerk_a's (no award, no points) by hand
    ("user_points", "user_points (user_clerk_id, points, achievements, reached_at)",
     "'clerk_a', 0, 0, now()"),
    # clerk_b's points on their enrolment (migration 0032): made by the award's trigger, so the
    # world's row is that one (an upsert that changes nothing); the histogram's value 0 by hand.
    ("course_points", "course_points (course_id, user_clerk_id, points, reached_at)",
     "%(courses)s, 'clerk_b', 10, now()) ON CONFLICT (user_clerk_id, course_id)"
     " DO UPDATE SET points = (course_points.points"),
    ("course_points_histogram", "course_points_histogram (course_id, points, shard)", "%(courses)s, 0, 0"),
    # clerk_b's name key on their enrolment (migration 0040): made by the enrolment's trigger
    ("course_roster_names", "course_roster_names (course_id, user_clerk_id, name_key)",
     "%(courses)s, 'clerk_b', 'b') ON CONFLICT (user_clerk_id, course_id)"
     " DO UPDATE SET name_key = (course_roster_names.name_key"),
    ("flashcard_sets", "flashcard_sets (owner_clerk_id, course_id, title, description)",
     "'clerk_b', %(courses)s, 'Greetings', 'Hello and goodbye'"),
    ("flashcards", "flashcards (set_id, front, back)", "%(flashcard_sets)s, 'hello', 'olá'"),
    ("user_flashcard_progress", "user_flashcard_progress (user_clerk_id, flashcard_id, ease_factor)",
     "'clerk_b', %(flashcards)s, 2.5"),
    # clerk_b's pair is made by the progress row's trigger; clerk_a's by hand
    ("flashcard_set_learners", "flashcard_set_learners (set_id, user_clerk_id)",
     "%(flashcard_sets)s, 'clerk_a'"),
    ("webhook_deliveries", "webhook_deliveries (svix_id, event_type)", "'msg_2abc', 'user.created'"),
    ("flashcard_reviews", "flashcard_reviews (user_clerk_id, flashcard_id, review_number, rating,"
     " reviewed_at, elapsed_days, review_duration_ms, state_before, state_after, stability_after,"
     " difficulty_after, due_after)",
     "'clerk_b', %(flashcards)s, 1, 3, now(), NULL, 4200, 'new', 'learning', 2.3, 2.1,"
     " now() + interval '10 minutes'"),
    ("favorites", "favorites (user_clerk_id, course_id)", "'clerk_b', %(courses)s"),
    ("site_roles", "site_roles (user_clerk_id, role, granted_by)", "'clerk_b', 'moderator', 'clerk_a'"),
    ("moderation_reports",
     "moderation_reports (reporter_clerk_id, post_id, reason, status, resolved_by, resolved_at)",
     "'clerk_b', %(forum_posts)s, 'Spam', 'resolved', 'clerk_a', now()"),
    ("moderation_actions",
     "moderation_actions (moderator_clerk_id, action, post_id, subject_clerk_id, reason)",
     "'clerk_a', 'lock', %(forum_posts)s, 'clerk_b', 'Heated'"),
    # A suspension that ended long ago, so that the world's writes after it go on.
    ("user_suspensions", "user_suspensions (user_clerk_id, suspended_until, reason, suspended_by)",
     "'clerk_b', '2000-01-01 00:00:00+00', 'Spam', 'clerk_a'"),
    ("audit_log", "audit_log (actor_clerk_id, table_name, operation, row_id, course_id, after)",
     "'clerk_a', 'courses', 'INSERT', %(courses)s, %(courses)s, '{}'"),
    ("erased_identities", "erased_identities (clerk_id_sha256)", "sha256('clerk_gone')"),
    # Forum pages and following (migration 0021); clerk_b follows their post already (its trigger).
    ("forum_post_view_counts", "forum_post_view_counts (post_id, shard, views)", "%(forum_posts)s, 0, 3"),
    ("forum_thread_follows", "forum_thread_follows (post_id, user_clerk_id)", "%(forum_posts)s, 'clerk_a'"),
    ("notification_mutes", "notification_mutes (user_clerk_id, type)", "'clerk_a', 'mention'"),
)  # fmt: skip


@pytest.fixture
def world(db_conn: Conn) -> dict[str, Any]:
    """One valid row in every seed table, keyed as WORLD says."""
    ids: dict[str, Any] = {}
    for key, target, values in WORLD:
        ids[key] = scalar(db_conn, f"INSERT INTO {target} VALUES ({values}) RETURNING id", ids)
    return ids


def present(conn: Conn, world: Mapping[str, Any]) -> set[str]:
    """The keys of the world whose row still exists."""
    return {
        key
        for key in world
        if scalar(
            conn,
            sql.SQL("SELECT EXISTS (SELECT FROM {} WHERE id = %s)").format(
                sql.Identifier("users" if key == "user_a" else key)
            ),
            [world[key]],
        )
    }


def column(conn: Conn, table: str, name: str, row_id: Any) -> Any:
    return scalar(
        conn,
        sql.SQL("SELECT {} FROM {} WHERE id = %s").format(sql.Identifier(name), sql.Identifier(table)),
        [row_id],
    )


def test_the_world_has_a_valid_row_in_every_table(db_conn: Conn, world: dict[str, Any]) -> None:
    assert present(db_conn, world) == set(world)
    assert set(world) >= set(our_tables(db_conn)), "a table the world has no row in: add one to WORLD"


# ---- every constraint rejects what it is there to reject -----------------------------------------


@dataclass(frozen=True)
class Violation:
    """`statement` must fail by `constraint`; `setup` runs first and must succeed.

    `raises` overrides the error the kind of constraint implies.
    """

    constraint: str
    statement: str
    setup: tuple[str, ...] = ()
    raises: tuple[type[psycopg.Error], ...] = ()


def dup(constraint: str, table: str, *columns: str) -> Violation:
    """A new row in `table` with the world row's `columns` and defaults elsewhere."""
    listed = ", ".join(columns)
    return Violation(
        constraint, f"INSERT INTO {table} ({listed}) SELECT {listed} FROM {table} WHERE id = %({table})s"
    )


def bad(constraint: str, table: str, assignments: str) -> Violation:
    """The world's row in `table` updated with `assignments`."""
    return Violation(constraint, f"UPDATE {table} SET {assignments} WHERE id = %({table})s")


def requirement(value: str) -> Violation:
    """The world's achievement with the requirement `value`."""
    return bad("achievements_requirement_shape", "achievements", f"requirement = {value}")


LONG = "repeat('x', {})"

VIOLATIONS: tuple[Violation, ...] = (
    # users
    bad("users_clerk_id_format", "users", "clerk_id = ' '"),
    bad("users_clerk_id_format", "users", f"clerk_id = {LONG.format(65)}"),
    Violation("users_clerk_id_key", "INSERT INTO users (clerk_id) VALUES ('clerk_a')"),
    bad("users_email_format", "users", "email = 'bo at example.com'"),
    bad("users_email_format", "users", "email = 'bo@exa mple.com'"),
    bad("users_email_format", "users", f"email = {LONG.format(320)} || '@example.com'"),
    Violation("users_email_key", "INSERT INTO users (clerk_id, email) VALUES ('clerk_c', 'ADA@Example.COM')"),
    bad("users_first_name_length", "users", f"first_name = {LONG.format(201)}"),
    bad("users_last_name_length", "users", f"last_name = {LONG.format(201)}"),
    bad("users_avatar_url_format", "users", "avatar_url = 'javascript:alert(1)'"),
    bad("users_avatar_url_format", "users", f"avatar_url = 'https://' || {LONG.format(2048)}"),
    bad("users_bio_length", "users", f"bio = {LONG.format(5001)}"),
    bad("users_timezone_valid", "users", "timezone = 'Mars/Olympus_Mons'"),
    bad("users_timezone_valid", "users", "timezone = ''"),
    # user_streaks
    dup("user_streaks_user_clerk_id_key", "user_streaks", "user_clerk_id"),
    bad("user_streaks_user_clerk_id_fkey", "user_streaks", "user_clerk_id = 'ghost'"),
    bad("user_streaks_current_streak_non_negative", "user_streaks", "current_streak = -1"),
    bad("user_streaks_longest_at_least_current", "user_streaks", "current_streak = 6"),
    # Implied by the two rules above, so it can only be seen to fire with one of them out of the way.
    Violation(
        "user_streaks_longest_streak_non_negative",
        "UPDATE user_streaks SET current_streak = 0, longest_streak = -1 WHERE id = %(user_streaks)s",
        setup=("ALTER TABLE user_streaks DROP CONSTRAINT user_streaks_longest_at_least_current",),
    ),
    # login_days
    dup("login_days_user_day_key", "login_days", "user_clerk_id", "day"),
    bad("login_days_user_clerk_id_fkey", "login_days", "user_clerk_id = 'ghost'"),
    # learning_goals
    bad("learning_goals_user_clerk_id_fkey", "learning_goals", "user_clerk_id = 'ghost'"),
    bad("learning_goals_title_not_blank", "learning_goals", "title = E'\\t \\n'"),
    bad("learning_goals_title_not_blank", "learning_goals", f"title = {LONG.format(201)}"),
    bad("learning_goals_description_length", "learning_goals", f"description = {LONG.format(5001)}"),
    bad("learning_goals_progress_range", "learning_goals", "progress = 101"),
    bad("learning_goals_progress_range", "learning_goals", "progress = -1"),
    bad("learning_goals_completed_at_full", "learning_goals", "completed_at = now()"),
    # notifications
    bad("notifications_user_clerk_id_fkey", "notifications", "user_clerk_id = 'ghost'"),
    bad("notifications_type_valid", "notifications", "type = 'poke'"),
    bad("notifications_message_not_blank", "notifications", "message = ''"),
    bad("notifications_message_not_blank", "notifications", f"message = {LONG.format(2001)}"),
    bad("notifications_source_type_valid", "notifications", "source_type = 'users'"),
    bad("notifications_metadata_object", "notifications", "metadata = '[]'"),
    Violation(
        "notifications_like_once_key",
        "INSERT INTO notifications (user_clerk_id, type, message, source_id, metadata) SELECT user_clerk_id,"
        " type, message, source_id, metadata FROM notifications WHERE id = %(notifications)s",
        setup=(
            "UPDATE notifications SET type = 'like', source_id = gen_random_uuid()"
            " WHERE id = %(notifications)s",
        ),
    ),
    # languages
    Violation("languages_code_key", "INSERT INTO languages (code, name) VALUES ('pt-BR', 'Português')"),
    Violation(
        "languages_name_key", "INSERT INTO languages (code, name) VALUES ('pt', 'BRAZILIAN portuguese')"
    ),
    bad("languages_code_format", "languages", "code = 'Portuguese'"),
    bad("languages_code_format", "languages", "code = 'pt_BR'"),
    bad("languages_name_not_blank", "languages", "name = ' '"),
    bad("languages_name_not_blank", "languages", f"name = {LONG.format(101)}"),
    # tags
    Violation("tags_name_key", "INSERT INTO tags (name) VALUES ('gRAMMAR')"),
    bad("tags_name_not_blank", "tags", "name = ''"),
    bad("tags_name_not_blank", "tags", f"name = {LONG.format(51)}"),
    # courses
    bad("courses_author_clerk_id_fkey", "courses", "author_clerk_id = 'ghost'"),
    bad("courses_language_id_fkey", "courses", "language_id = gen_random_uuid()"),
    # ON DELETE RESTRICT: PostgreSQL 15 reports foreign_key_violation (23503), 18 restrict_violation (23001).
    Violation(
        "courses_language_id_fkey",
        "DELETE FROM languages WHERE id = %(languages)s",
        raises=(errors.ForeignKeyViolation, errors.RestrictViolation),
    ),
    bad("courses_title_not_blank", "courses", "title = ' '"),
    bad("courses_title_not_blank", "courses", f"title = {LONG.format(201)}"),
    bad("courses_description_length", "courses", f"description = {LONG.format(20001)}"),
    bad("courses_difficulty_valid", "courses", "difficulty = 'expert'"),
    bad("courses_estimated_duration_positive", "courses", "estimated_duration_minutes = 0"),
    bad("courses_cover_image_url_format", "courses", "cover_image_url = 'img/pt.png'"),
    bad("courses_status_valid", "courses", "status = 'deleted', published_at = NULL"),
    bad("courses_published_at_set", "courses", "published_at = NULL"),
    bad("courses_published_at_set", "courses", "status = 'draft'"),
    # units
    bad("units_course_id_fkey", "units", "course_id = gen_random_uuid()"),
    dup("units_course_position_key", "units", "course_id", "title", "position"),
    bad("units_title_not_blank", "units", "title = ''"),
    bad("units_description_length", "units", f"description = {LONG.format(20001)}"),
    bad("units_position_non_negative", "units", "position = -1"),
    # lessons
    bad("lessons_unit_id_fkey", "lessons", "unit_id = gen_random_uuid()"),
    Violation(
        "lessons_unit_position_key",
        """INSERT INTO lessons (unit_id, title, content_type, content, position)
           VALUES (%(units)s, 'Again', 'text', '{"body": "Oi"}', 0)""",
    ),
    bad("lessons_title_not_blank", "lessons", "title = ' '"),
    bad("lessons_content_type_valid", "lessons", "content_type = 'slides'"),
    bad("lessons_content_shape", "lessons", "content = '[]'"),
    bad("lessons_content_shape", "lessons", "content = '{}'"),
    bad("lessons_content_shape", "lessons", """content = '{"url": "https://v.example.com/1"}'"""),
    bad("lessons_content_shape", "lessons", """content_type = 'video', content = '{"url": 1}'"""),
    bad("lessons_content_shape", "lessons", """content_type = 'exercise', content = '{"body": "x"}'"""),
    bad("lessons_duration_positive", "lessons", "duration_seconds = 0"),
    bad("lessons_position_non_negative", "lessons", "position = -1"),
    # media
    bad("media_lesson_id_fkey", "media", "lesson_id = gen_random_uuid()"),
    bad("media_media_type_valid", "media", "media_type = 'video'"),
    bad("media_url_format", "media", "url = 'ftp://cdn.example.com/ola.mp3'"),
    bad("media_title_length", "media", f"title = {LONG.format(201)}"),
    # quizzes
    bad("quizzes_lesson_id_fkey", "quizzes", "lesson_id = gen_random_uuid()"),
    bad("quizzes_question_not_blank", "quizzes", "question = ''"),
    bad("quizzes_question_type_valid", "quizzes", "question_type = 'essay'"),
    bad("quizzes_options_array", "quizzes", """options = '{"a": "Olá"}'"""),
    bad("quizzes_options_array", "quizzes", "question_type = 'fill_blank', options = '\"Olá\"'"),
    bad("quizzes_correct_answer_shape", "quizzes", "correct_answer = '{}'"),
    bad("quizzes_correct_answer_shape", "quizzes", "correct_answer = 'null'"),
    bad("quizzes_mcq_has_options", "quizzes", """options = '["Olá"]'"""),
    # quizzes and media in order (0020_cloning_and_sets)
    bad("quizzes_position_valid", "quizzes", "position = -1"),
    bad("media_position_valid", "media", "position = -1"),
    Violation(
        "quizzes_lesson_position_key",
        "INSERT INTO quizzes (lesson_id, question, question_type, correct_answer, position)"
        """ SELECT lesson_id, 'Again?', 'flashcard', '"a"', position FROM quizzes WHERE id = %(quizzes)s""",
    ),
    Violation(
        "media_lesson_position_key",
        "INSERT INTO media (lesson_id, media_type, url, position)"
        " SELECT lesson_id, 'image', 'https://cdn.example.com/again.png', position"
        " FROM media WHERE id = %(media)s",
    ),
    # quiz_attempts
    bad("quiz_attempts_quiz_id_fkey", "quiz_attempts", "quiz_id = gen_random_uuid()"),
    bad("quiz_attempts_user_clerk_id_fkey", "quiz_attempts", "user_clerk_id = 'ghost'"),
    bad("quiz_attempts_answer_shape", "quiz_attempts", "answer = '{}'"),
    bad("quiz_attempts_answer_shape", "quiz_attempts", f"answer = to_jsonb({LONG.format(10000)})"),
    # course_tags
    dup("course_tags_course_tag_key", "course_tags", "course_id", "tag_id"),
    bad("course_tags_course_id_fkey", "course_tags", "course_id = gen_random_uuid()"),
    bad("course_tags_tag_id_fkey", "course_tags", "tag_id = gen_random_uuid()"),
    # user_courses
    Violation(
        "user_courses_user_course_key",
        "INSERT INTO user_courses (user_clerk_id, course_id) VALUES ('clerk_b', %(courses)s)",
    ),
    bad("user_courses_user_clerk_id_fkey", "user_courses", "user_clerk_id = 'ghost'"),
    bad("user_courses_course_id_fkey", "user_courses", "course_id = gen_random_uuid()"),
    bad("user_courses_progress_range", "user_courses", "progress = 101"),
    bad("user_courses_completed_at_full", "user_courses", "completed_at = now()"),
    # user_progress
    Violation(
        "user_progress_user_lesson_key",
        "INSERT INTO user_progress (user_clerk_id, lesson_id) VALUES ('clerk_b', %(lessons)s)",
    ),
    bad("user_progress_user_clerk_id_fkey", "user_progress", "user_clerk_id = 'ghost'"),
    bad("user_progress_lesson_id_fkey", "user_progress", "lesson_id = gen_random_uuid()"),
    bad("user_progress_status_valid", "user_progress", "status = 'done', completed_at = NULL"),
    bad("user_progress_completed_at_set", "user_progress", "completed_at = NULL"),
    bad("user_progress_completed_at_set", "user_progress", "status = 'in_progress'"),
    # forum_posts
    bad("forum_posts_course_id_fkey", "forum_posts", "course_id = gen_random_uuid()"),
    bad("forum_posts_author_clerk_id_fkey", "forum_posts", "author_clerk_id = 'ghost'"),
    bad("forum_posts_title_not_blank", "forum_posts", "title = ' '"),
    bad("forum_posts_title_not_blank", "forum_posts", f"title = {LONG.format(301)}"),
    bad("forum_posts_body_not_blank", "forum_posts", "body = ''"),
    bad("forum_posts_body_not_blank", "forum_posts", f"body = {LONG.format(50001)}"),
    # forum_replies
    bad("forum_replies_post_id_fkey", "forum_replies", "post_id = gen_random_uuid()"),
    bad("forum_replies_parent_reply_id_fkey", "forum_replies", "parent_reply_id = gen_random_uuid()"),
    bad("forum_replies_author_clerk_id_fkey", "forum_replies", "author_clerk_id = 'ghost'"),
    bad("forum_replies_body_not_blank", "forum_replies", "body = ' '"),
    bad("forum_replies_not_own_parent", "forum_replies", "parent_reply_id = id"),
    # forum_post_likes and forum_reply_likes
    dup("forum_post_likes_post_user_key", "forum_post_likes", "post_id", "user_clerk_id"),
    bad("forum_post_likes_post_id_fkey", "forum_post_likes", "post_id = gen_random_uuid()"),
    bad("forum_post_likes_user_clerk_id_fkey", "forum_post_likes", "user_clerk_id = 'ghost'"),
    dup("forum_reply_likes_reply_user_key", "forum_reply_likes", "reply_id", "user_clerk_id"),
    bad("forum_reply_likes_reply_id_fkey", "forum_reply_likes", "reply_id = gen_random_uuid()"),
    bad("forum_reply_likes_user_clerk_id_fkey", "forum_reply_likes", "user_clerk_id = 'ghost'"),
    # collaborators
    Violation(
        "collaborators_course_user_key",
        "INSERT INTO collaborators (course_id, user_clerk_id) VALUES (%(courses)s, 'clerk_b')",
    ),
    bad("collaborators_course_id_fkey", "collaborators", "course_id = gen_random_uuid()"),
    bad("collaborators_user_clerk_id_fkey", "collaborators", "user_clerk_id = 'ghost'"),
    bad("collaborators_role_valid", "collaborators", "role = 'owner'"),
    bad("collaborators_status_valid", "collaborators", "status = 'invited'"),
    # suggested_edits
    bad("suggested_edits_course_id_fkey", "suggested_edits", "course_id = gen_random_uuid()"),
    bad("suggested_edits_lesson_id_fkey", "suggested_edits", "lesson_id = gen_random_uuid()"),
    bad("suggested_edits_author_clerk_id_fkey", "suggested_edits", "author_clerk_id = 'ghost'"),
    bad("suggested_edits_reviewer_clerk_id_fkey", "suggested_edits", "reviewer_clerk_id = 'ghost'"),
    bad("suggested_edits_summary_not_blank", "suggested_edits", "summary = ''"),
    bad("suggested_edits_summary_not_blank", "suggested_edits", f"summary = {LONG.format(501)}"),
    bad("suggested_edits_payload_object", "suggested_edits", "payload = '{}'"),
    bad("suggested_edits_payload_object", "suggested_edits", """payload = '["title"]'"""),
    bad("suggested_edits_status_valid", "suggested_edits", "status = 'merged'"),
    bad("suggested_edits_reviewed_at_set", "suggested_edits", "reviewed_at = NULL"),
    bad("suggested_edits_reviewed_at_set", "suggested_edits", "status = 'pending'"),
    bad("suggested_edits_unit_id_fkey", "suggested_edits",
        "kind = 'reorder_lessons', lesson_id = NULL, unit_id = gen_random_uuid(), base_lesson_ids = '{}',"
        """ payload = '{"lesson_ids": []}'"""),
    bad("suggested_edits_quiz_id_fkey", "suggested_edits",
        "kind = 'quiz', lesson_id = NULL, quiz_id = gen_random_uuid(), payload = '{\"question\": \"Q\"}'"),
    bad("suggested_edits_kind_valid", "suggested_edits", "kind = 'rename_course'"),
    bad("suggested_edits_kind_target", "suggested_edits", "unit_id = %(units)s"),
    bad("suggested_edits_kind_target", "suggested_edits", "kind = 'quiz', payload = '{\"question\": \"Q\"}'"),
    bad("suggested_edits_kind_payload", "suggested_edits",
        "kind = 'reorder_lessons', lesson_id = NULL, unit_id = %(units)s, base_lesson_ids = '{}'"),
    bad("suggested_edits_kind_payload", "suggested_edits",
        "kind = 'quiz', lesson_id = NULL, quiz_id = %(quizzes)s"),
    bad("suggested_edits_withdrawn_unreviewed", "suggested_edits", "status = 'withdrawn'"),
    bad("suggested_edits_review_note_length", "suggested_edits", f"review_note = {LONG.format(2001)}"),
    # course_feedback and feedback_upvotes
    Violation(
        "course_feedback_course_user_key",
        "INSERT INTO course_feedback (course_id, user_clerk_id, rating) VALUES (%(courses)s, 'clerk_b', 1)",
    ),
    bad("course_feedback_course_id_fkey", "course_feedback", "course_id = gen_random_uuid()"),
    bad("course_feedback_user_clerk_id_fkey", "course_feedback", "user_clerk_id = 'ghost'"),
    bad("course_feedback_rating_range", "course_feedback", "rating = 0"),
    bad("course_feedback_rating_range", "course_feedback", "rating = 6"),
    bad("course_feedback_comment_length", "course_feedback", f"comment = {LONG.format(5001)}"),
    dup("feedback_upvotes_feedback_user_key", "feedback_upvotes", "feedback_id", "user_clerk_id"),
    bad("feedback_upvotes_feedback_id_fkey", "feedback_upvotes", "feedback_id = gen_random_uuid()"),
    bad("feedback_upvotes_user_clerk_id_fkey", "feedback_upvotes", "user_clerk_id = 'ghost'"),
    # a review's upvotes, counted (migration 0030)
    dup("feedback_upvote_counts_feedback_key", "feedback_upvote_counts", "feedback_id", "course_id",
        "feedback_created_at"),
    bad("feedback_upvote_counts_feedback_id_fkey", "feedback_upvote_counts",
        "feedback_id = gen_random_uuid()"),
    bad("feedback_upvote_counts_course_id_fkey", "feedback_upvote_counts", "course_id = gen_random_uuid()"),
    # collaboration requests and answers to reviews (0017)
    bad("collaboration_requests_course_id_fkey", "collaboration_requests", "course_id = gen_random_uuid()"),
    bad("collaboration_requests_requester_clerk_id_fkey", "collaboration_requests",
        "requester_clerk_id = 'ghost'"),
    bad("collaboration_requests_role_valid", "collaboration_requests", "role = 'owner'"),
    bad("collaboration_requests_status_valid", "collaboration_requests", "status = 'merged'"),
    bad("collaboration_requests_decided_at_set", "collaboration_requests", "decided_at = now()"),
    bad("collaboration_requests_message_length", "collaboration_requests", f"message = {LONG.format(2001)}"),
    dup("collaboration_requests_one_open_key", "collaboration_requests",
        "course_id", "requester_clerk_id", "role"),
    dup("review_replies_feedback_id_key", "review_replies", "feedback_id", "author_clerk_id", "body"),
    bad("review_replies_feedback_id_fkey", "review_replies", "feedback_id = gen_random_uuid()"),
    bad("review_replies_author_clerk_id_fkey", "review_replies", "author_clerk_id = 'ghost'"),
    bad("review_replies_body_not_blank", "review_replies", "body = ' '"),
    bad("review_replies_body_not_blank", "review_replies", f"body = {LONG.format(5001)}"),
    # forum pages and following (migration 0021)
    dup("forum_post_view_counts_post_shard_key", "forum_post_view_counts", "post_id", "shard"),
    bad("forum_post_view_counts_post_id_fkey", "forum_post_view_counts", "post_id = gen_random_uuid()"),
    bad("forum_post_view_counts_shard_range", "forum_post_view_counts", "shard = 16"),
    bad("forum_post_view_counts_views_non_negative", "forum_post_view_counts", "views = -1"),
    # forum search and feed totals (migration 0025)
    dup("forum_course_post_counts_course_id_key", "forum_course_post_counts", "course_id"),
    bad("forum_course_post_counts_course_id_fkey", "forum_course_post_counts",
        "course_id = gen_random_uuid()"),
    bad("forum_course_post_counts_visible_posts_non_negative", "forum_course_post_counts",
        "visible_posts = -1"),
    bad("forum_course_post_counts_hidden_posts_non_negative", "forum_course_post_counts",
        "hidden_posts = -1"),
    # a user's forum activity (migration 0027)
    dup("forum_user_activity_clerk_shard_key", "forum_user_activity", "clerk_id", "shard"),
    bad("forum_user_activity_clerk_id_fkey", "forum_user_activity", "clerk_id = 'ghost'"),
    bad("forum_user_activity_shard_range", "forum_user_activity", "shard = 16"),
    dup("forum_course_activity_course_bucket_shard_key", "forum_course_activity", "course_id", "bucket",
        "shard"),
    bad("forum_course_activity_course_id_fkey", "forum_course_activity", "course_id = gen_random_uuid()"),
    bad("forum_course_activity_shard_range", "forum_course_activity", "shard = 16"),
    bad("forum_course_activity_bucket_shape", "forum_course_activity",
        "bucket = bucket + interval '1 minute'"),
    # a course's summary (migration 0028)
    dup("course_stats_course_shard_key", "course_stats", "course_id", "shard"),
    bad("course_stats_course_id_fkey", "course_stats", "course_id = gen_random_uuid()"),
    bad("course_stats_shard_range", "course_stats", "shard = 16"),
    bad("course_stats_shard_range", "course_stats", "shard = -1"),
    # the rank histogram and the lesson counters (migration 0029)
    dup("user_points_histogram_points_shard_key", "user_points_histogram", "points", "shard"),
    bad("user_points_histogram_points_non_negative", "user_points_histogram", "points = -1"),
    bad("user_points_histogram_shard_range", "user_points_histogram", "shard = 8"),
    dup("forum_platform_post_counts_shard_key", "forum_platform_post_counts", "shard"),
    bad("forum_platform_post_counts_shard_range", "forum_platform_post_counts", "shard = 16"),
    # a course's leaderboard (migration 0032)
    dup("course_points_user_course_key", "course_points", "user_clerk_id", "course_id", "points"),
    bad("course_points_enrolment_fkey", "course_points", "user_clerk_id = 'clerk_a'"),
    bad("course_points_points_non_negative", "course_points", "points = -1"),
    dup("course_points_histogram_course_points_shard_key", "course_points_histogram", "course_id", "points",
        "shard"),
    bad("course_points_histogram_course_id_fkey", "course_points_histogram", "course_id = gen_random_uuid()"),
    bad("course_points_histogram_points_non_negative", "course_points_histogram", "points = -1"),
    bad("course_points_histogram_shard_range", "course_points_histogram", "shard = 8"),
    # a course's roster by name (migration 0040)
    dup("course_roster_names_user_course_key", "course_roster_names", "user_clerk_id", "course_id",
        "name_key"),
    bad("course_roster_names_enrolment_fkey", "course_roster_names", "user_clerk_id = 'clerk_a'"),
    dup("lesson_progress_counts_lesson_shard_key", "lesson_progress_counts", "lesson_id", "shard"),
    bad("lesson_progress_counts_lesson_id_fkey", "lesson_progress_counts", "lesson_id = gen_random_uuid()"),
    bad("lesson_progress_counts_shard_range", "lesson_progress_counts", "shard = 8"),
    dup("forum_thread_follows_post_user_key", "forum_thread_follows", "post_id", "user_clerk_id"),
    bad("forum_thread_follows_post_id_fkey", "forum_thread_follows", "post_id = gen_random_uuid()"),
    bad("forum_thread_follows_user_clerk_id_fkey", "forum_thread_follows", "user_clerk_id = 'ghost'"),
    dup("notification_mutes_user_type_key", "notification_mutes", "user_clerk_id", "type"),
    bad("notification_mutes_user_clerk_id_fkey", "notification_mutes", "user_clerk_id = 'ghost'"),
    bad("notification_mutes_type_valid", "notification_mutes", "type = 'system'"),
    Violation(
        "notifications_reply_once_key",
        "INSERT INTO notifications (user_clerk_id, type, message, source_id, source_type, metadata)"
        " SELECT user_clerk_id, 'mention', message, source_id, source_type, metadata FROM notifications"
        " WHERE id = %(notifications)s",
        setup=("UPDATE notifications SET source_id = gen_random_uuid() WHERE id = %(notifications)s",),
    ),
    # achievements
    Violation(
        "achievements_code_key",
        """INSERT INTO achievements (code, title, requirement)
           VALUES ('first-lesson', 'Again', '{"kind": "streak_days", "threshold": 3}')""",
    ),
    bad("achievements_code_format", "achievements", "code = 'First Lesson'"),
    bad("achievements_title_not_blank", "achievements", "title = ' '"),
    bad("achievements_icon_url_format", "achievements", "icon_url = 'icon.png'"),
    bad("achievements_points_non_negative", "achievements", "points = -10"),
    requirement("'[]'"),
    requirement("'{}'"),
    requirement("""'{"threshold": 1}'"""),
    requirement("""'{"kind": "login", "threshold": 1}'"""),
    requirement("""'{"kind": "streak_days"}'"""),
    requirement("""jsonb_set(requirement, '{threshold}', '"7"')"""),
    requirement("""jsonb_set(requirement, '{threshold}', '0')"""),
    requirement("""jsonb_set(requirement, '{threshold}', '1.5')"""),
    # user_achievements
    Violation(
        "user_achievements_user_achievement_key",
        "INSERT INTO user_achievements (user_clerk_id, achievement_id) VALUES ('clerk_b', %(achievements)s)",
    ),
    bad("user_achievements_user_clerk_id_fkey", "user_achievements", "user_clerk_id = 'ghost'"),
    bad("user_achievements_achievement_id_fkey", "user_achievements", "achievement_id = gen_random_uuid()"),
    bad("user_achievements_progress_non_negative", "user_achievements", "progress = -1"),
    # user_points
    dup("user_points_user_clerk_id_key", "user_points", "user_clerk_id"),
    bad("user_points_user_clerk_id_fkey", "user_points", "user_clerk_id = 'ghost'"),
    bad("user_points_points_non_negative", "user_points", "points = -1"),
    bad("user_points_achievements_non_negative", "user_points", "achievements = -1"),
    requirement("""'{"kind": "all_of", "rules": []}'"""),
    requirement("""'{"kind": "any_of", "rules": [{"kind": "streak_days", "threshold": 0}]}'"""),
    requirement("""'{"kind": "lessons_completed", "threshold": 1, "course_id": "not-a-uuid"}'"""),
    # flashcard_sets and flashcards
    bad("flashcard_sets_owner_clerk_id_fkey", "flashcard_sets", "owner_clerk_id = 'ghost'"),
    bad("flashcard_sets_course_id_fkey", "flashcard_sets", "course_id = gen_random_uuid()"),
    bad("flashcard_sets_title_not_blank", "flashcard_sets", "title = ''"),
    bad("flashcard_sets_description_length", "flashcard_sets", f"description = {LONG.format(5001)}"),
    bad("flashcard_sets_language_id_fkey", "flashcard_sets", "language_id = gen_random_uuid()"),
    bad("flashcard_sets_forked_from_fkey", "flashcard_sets", "forked_from = gen_random_uuid()"),
    bad("flashcards_set_id_fkey", "flashcards", "set_id = gen_random_uuid()"),
    bad("flashcards_front_not_blank", "flashcards", "front = ' '"),
    bad("flashcards_front_not_blank", "flashcards", f"front = {LONG.format(5001)}"),
    bad("flashcards_back_not_blank", "flashcards", "back = ''"),
    # user_flashcard_progress
    Violation(
        "user_flashcard_progress_user_card_key",
        "INSERT INTO user_flashcard_progress (user_clerk_id, flashcard_id)"
        " VALUES ('clerk_b', %(flashcards)s)",
    ),
    bad("user_flashcard_progress_user_clerk_id_fkey", "user_flashcard_progress", "user_clerk_id = 'ghost'"),
    bad(
        "user_flashcard_progress_flashcard_id_fkey",
        "user_flashcard_progress",
        "flashcard_id = gen_random_uuid()",
    ),
    bad("user_flashcard_progress_repetitions_non_negative", "user_flashcard_progress", "repetitions = -1"),
    bad("user_flashcard_progress_interval_non_negative", "user_flashcard_progress", "interval_days = -1"),
    bad("user_flashcard_progress_ease_factor_range", "user_flashcard_progress", "ease_factor = 1.29"),
    bad("user_flashcard_progress_ease_factor_range", "user_flashcard_progress", "ease_factor = 5.01"),
    bad("user_flashcard_progress_mastery_range", "user_flashcard_progress", "mastery = 6"),
    # webhook_deliveries
    bad("webhook_deliveries_svix_id_format", "webhook_deliveries", "svix_id = ' '"),
    bad("webhook_deliveries_svix_id_format", "webhook_deliveries", f"svix_id = {LONG.format(201)}"),
    Violation("webhook_deliveries_svix_id_key",
              "INSERT INTO webhook_deliveries (svix_id, event_type) VALUES ('msg_2abc', 'user.updated')"),
    bad("webhook_deliveries_event_type_format", "webhook_deliveries", "event_type = ''"),
    bad("webhook_deliveries_event_type_format", "webhook_deliveries", f"event_type = {LONG.format(201)}"),
    bad("user_flashcard_progress_state_valid", "user_flashcard_progress", "state = 'mastered'"),
    bad("user_flashcard_progress_step_non_negative", "user_flashcard_progress", "step = -1"),
    bad("user_flashcard_progress_stability_positive", "user_flashcard_progress", "stability = 0"),
    bad("user_flashcard_progress_difficulty_range", "user_flashcard_progress", "difficulty = 10.5"),
    bad("flashcards_position_non_negative", "flashcards", "position = -1"),
    Violation(
        "flashcards_set_position_key",
        "INSERT INTO flashcards (set_id, front, back, position)"
        " VALUES (%(flashcard_sets)s, 'bye', 'tchau', 0)",
    ),
    # flashcard_reviews
    dup("flashcard_reviews_user_card_number_key", "flashcard_reviews", "user_clerk_id", "flashcard_id",
        "review_number", "rating", "reviewed_at", "state_before", "state_after", "stability_after",
        "difficulty_after", "due_after"),
    bad("flashcard_reviews_user_clerk_id_fkey", "flashcard_reviews", "user_clerk_id = 'ghost'"),
    bad("flashcard_reviews_flashcard_id_fkey", "flashcard_reviews", "flashcard_id = gen_random_uuid()"),
    bad("flashcard_reviews_review_number_positive", "flashcard_reviews", "review_number = 0"),
    bad("flashcard_reviews_rating_range", "flashcard_reviews", "rating = 5"),
    bad("flashcard_reviews_rating_range", "flashcard_reviews", "rating = 0"),
    bad("flashcard_reviews_elapsed_days_non_negative", "flashcard_reviews", "elapsed_days = -1"),
    bad("flashcard_reviews_review_duration_ms_non_negative", "flashcard_reviews", "review_duration_ms = -1"),
    bad("flashcard_reviews_state_before_valid", "flashcard_reviews", "state_before = 'done'"),
    bad("flashcard_reviews_state_after_valid", "flashcard_reviews", "state_after = 'new'"),
    bad("flashcard_reviews_due_after_later", "flashcard_reviews", "due_after = reviewed_at"),
    # favorites
    dup("favorites_user_course_key", "favorites", "user_clerk_id", "course_id"),
    bad("favorites_user_clerk_id_fkey", "favorites", "user_clerk_id = 'ghost'"),
    bad("favorites_course_id_fkey", "favorites", "course_id = gen_random_uuid()"),
    # site_roles
    Violation("site_roles_user_role_key",
              "INSERT INTO site_roles (user_clerk_id, role) VALUES ('clerk_b', 'moderator')"),
    bad("site_roles_user_clerk_id_fkey", "site_roles", "user_clerk_id = 'ghost'"),
    bad("site_roles_granted_by_fkey", "site_roles", "granted_by = 'ghost'"),
    bad("site_roles_role_valid", "site_roles", "role = 'owner'"),
    # moderation (migration 0015)
    bad("moderation_reports_reporter_clerk_id_fkey", "moderation_reports", "reporter_clerk_id = 'ghost'"),
    bad("moderation_reports_post_id_fkey", "moderation_reports", "post_id = gen_random_uuid()"),
    bad("moderation_reports_reply_id_fkey", "moderation_reports",
        "post_id = NULL, reply_id = gen_random_uuid()"),
    bad("moderation_reports_feedback_id_fkey", "moderation_reports",
        "post_id = NULL, feedback_id = gen_random_uuid()"),
    bad("moderation_reports_resolved_by_fkey", "moderation_reports", "resolved_by = 'ghost'"),
    bad("moderation_reports_one_target", "moderation_reports", "post_id = NULL"),
    bad("moderation_reports_one_target", "moderation_reports", "reply_id = %(forum_replies)s"),
    bad("moderation_reports_reason_not_blank", "moderation_reports", "reason = ' '"),
    bad("moderation_reports_reason_not_blank", "moderation_reports", f"reason = {LONG.format(2001)}"),
    bad("moderation_reports_status_valid", "moderation_reports", "status = 'closed'"),
    bad("moderation_reports_resolved_at_set", "moderation_reports", "resolved_at = NULL"),
    Violation("moderation_reports_one_open_key",
              "INSERT INTO moderation_reports (reporter_clerk_id, post_id, reason)"
              " VALUES ('clerk_b', %(forum_posts)s, 'Spam'), ('clerk_b', %(forum_posts)s, 'Again')"),
    # The log is append-only (a trigger refuses an UPDATE): its rules are tried on new rows.
    *(
        Violation(constraint, "INSERT INTO moderation_actions"
                  " (moderator_clerk_id, action, subject_clerk_id, reason, details) VALUES (" + values + ")")
        for constraint, values in (
            ("moderation_actions_moderator_clerk_id_fkey", "'ghost', 'hide', NULL, 'r', '{}'"),
            ("moderation_actions_subject_clerk_id_fkey", "NULL, 'hide', 'ghost', 'r', '{}'"),
            ("moderation_actions_action_valid", "NULL, 'delete', NULL, 'r', '{}'"),
            ("moderation_actions_reason_not_blank", "NULL, 'hide', NULL, ' ', '{}'"),
            ("moderation_actions_details_object", "NULL, 'hide', NULL, 'r', '[]'"),
        )
    ),
    Violation("user_suspensions_user_clerk_id_key",
              "INSERT INTO user_suspensions (user_clerk_id, suspended_until, reason)"
              " VALUES ('clerk_b', now(), 'x')"),
    bad("user_suspensions_user_clerk_id_fkey", "user_suspensions", "user_clerk_id = 'ghost'"),
    bad("user_suspensions_suspended_by_fkey", "user_suspensions", "suspended_by = 'ghost'"),
    bad("user_suspensions_reason_not_blank", "user_suspensions", "reason = ''"),
    # audit_log
    Violation("audit_log_change_number_key",
              "INSERT INTO audit_log (change_number, table_name, operation, row_id, after)"
              " SELECT change_number, table_name, operation, row_id, after FROM audit_log"
              " WHERE id = %(audit_log)s"),
    bad("audit_log_actor_clerk_id_fkey", "audit_log", "actor_clerk_id = 'ghost'"),
    bad("audit_log_actor_role_not_blank", "audit_log", "actor_role = ' '"),
    bad("audit_log_actor_role_not_blank", "audit_log", f"actor_role = {LONG.format(65)}"),
    bad("audit_log_table_name_valid", "audit_log", "table_name = 'users'"),
    bad("audit_log_operation_valid", "audit_log", "operation = 'TRUNCATE', before = '{}'"),
    bad("audit_log_before_object", "audit_log", "operation = 'UPDATE', before = '[]'"),
    bad("audit_log_after_object", "audit_log", "after = '1'"),
    bad("audit_log_images_match_operation", "audit_log", "operation = 'DELETE'"),
    # erased_identities
    dup("erased_identities_clerk_id_sha256_key", "erased_identities", "clerk_id_sha256"),
    bad("erased_identities_clerk_id_sha256_length", "erased_identities", "clerk_id_sha256 = '\\x00'"),
    # a set's learners (migration 0024)
    dup("flashcard_set_learners_set_user_key", "flashcard_set_learners", "set_id", "user_clerk_id"),
    bad("flashcard_set_learners_set_id_fkey", "flashcard_set_learners", "set_id = gen_random_uuid()"),
    bad("flashcard_set_learners_user_clerk_id_fkey", "flashcard_set_learners", "user_clerk_id = 'ghost'"),
    # Every primary key: a row copied whole, id and all, collides on its id before anything else.
    *(
        Violation(f"{key}_pkey", f"INSERT INTO {key} SELECT * FROM {key} WHERE id = %({key})s")
        for key, target, _ in WORLD
        if target.startswith(f"{key} ") and key not in PARTITIONED_LOGS
    ),
    # A partitioned log's history partition got its (id, time) key after its unique key, and
    # PostgreSQL checks unique indexes in the order they were made: the copy goes to the other user,
    # so that only the key collides.
    *(
        Violation(
            f"{key}_pkey",
            f"INSERT INTO {key} SELECT (jsonb_populate_record(t,"
            f" to_jsonb(t) || '{{\"user_clerk_id\": \"clerk_a\"}}')).* FROM {key} t WHERE id = %({key})s",
        )
        for key in sorted(PARTITIONED_LOGS)
    ),
)  # fmt: skip

EXPECTED_ERROR: dict[str, type[psycopg.Error]] = {
    "c": errors.CheckViolation,
    "u": errors.UniqueViolation,
    "p": errors.UniqueViolation,
    "f": errors.ForeignKeyViolation,
}


def test_every_constraint_has_a_violation_here(db_conn: Conn) -> None:
    in_schema = set(constraint_kinds(db_conn))
    tried = {violation.constraint for violation in VIOLATIONS}
    assert in_schema - tried == set(), "a constraint without a row that breaks it: add one to VIOLATIONS"
    assert tried - in_schema == set(), "VIOLATIONS names a constraint the schema does not have"


@pytest.mark.parametrize("violation", VIOLATIONS, ids=lambda v: v.constraint)
def test_a_row_breaking_a_constraint_is_rejected_by_name(
    db_conn: Conn, world: dict[str, Any], violation: Violation
) -> None:
    expected = violation.raises or (EXPECTED_ERROR[constraint_kinds(db_conn)[violation.constraint]],)
    for statement in violation.setup:
        db_conn.execute(statement, world if "%(" in statement else None)
    with pytest.raises(expected) as caught, db_conn.transaction():
        db_conn.execute(violation.statement, world)
    # a partitioned log reports the partition's names; learnstore maps them to the parent's
    reported = _parent_names(caught.value.diag.table_name, caught.value.diag.constraint_name)[1]
    assert reported == violation.constraint
    # learnstore's error names the field the rule is about (a column of the table, or the last
    # column of a composite key), whatever kind of constraint it is
    ours = translate(caught.value)
    assert ours is not None and ours.constraint == violation.constraint
    table = caught.value.diag.table_name
    columns = {
        name
        for (name,) in rows(
            db_conn, "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0", [table]
        )
    }
    assert ours.field in columns, f"{violation.constraint}: field {ours.field!r} is not a column of {table}"
    # the savepoint rolled back alone: the test's transaction and the world are intact
    assert present(db_conn, world) == set(world)


# ---- triggers and referential actions ------------------------------------------------------------


def test_updated_at_is_set_to_the_time_of_the_update_whatever_the_caller_writes(
    db_conn: Conn, world: dict[str, Any]
) -> None:
    tables = our_tables(db_conn)
    assert set(tables) <= set(world), "a table the world has no row in: add one to WORLD"
    for table in tables:
        updated, created, now = rows(
            db_conn,
            sql.SQL(
                "UPDATE {} SET updated_at = '2000-01-01 00:00:00+00' WHERE id = %s"
                " RETURNING updated_at, created_at, now()"
            ).format(sql.Identifier(table)),
            [world[table]],
        )[0]
        assert updated == now >= created, table


def test_updated_at_moves_forward_in_a_later_transaction(fresh_db: str) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        with conn.transaction():
            user_id, created = rows(
                conn, "INSERT INTO users (clerk_id) VALUES ('clerk_t') RETURNING id, created_at"
            )[0]
        with conn.transaction():
            updated, created_after, now = rows(
                conn,
                "UPDATE users SET first_name = 'Tea' WHERE id = %s RETURNING updated_at, created_at, now()",
                [user_id],
            )[0]
    assert updated == now
    assert updated > created
    assert created_after == created


PRIVATE_TO_CLERK_B = {
    "users", "user_streaks", "login_days", "learning_goals", "notifications", "user_courses",
    "user_progress", "quiz_attempts", "collaborators", "user_achievements", "flashcard_sets", "flashcards",
    "user_flashcard_progress", "flashcard_reviews", "favorites", "site_roles", "user_suspensions",
    "collaboration_requests", "flashcard_set_learners", "course_points", "course_roster_names",
}  # fmt: skip
WRITTEN_BY_CLERK_B = {
    "forum_posts": "author_clerk_id",
    "forum_replies": "author_clerk_id",
    "course_feedback": "user_clerk_id",
    "suggested_edits": "author_clerk_id",
}


def test_deleting_a_user_erases_their_private_rows_and_keeps_what_they_wrote_anonymously(
    db_conn: Conn, world: dict[str, Any]
) -> None:
    db_conn.execute("DELETE FROM users WHERE clerk_id = 'clerk_b'")
    assert set(world) - present(db_conn, world) == PRIVATE_TO_CLERK_B
    for table, author in WRITTEN_BY_CLERK_B.items():
        assert column(db_conn, table, author, world[table]) is None, table


def test_deleting_an_author_keeps_their_course_and_reviews_anonymously(
    db_conn: Conn, world: dict[str, Any]
) -> None:
    db_conn.execute("DELETE FROM users WHERE clerk_id = 'clerk_a'")
    assert set(world) - present(db_conn, world) == {
        "user_a", "forum_post_likes", "forum_reply_likes", "feedback_upvotes", "user_points",
        "forum_thread_follows", "notification_mutes", "flashcard_set_learners", "forum_user_activity",
    }  # fmt: skip
    assert column(db_conn, "courses", "author_clerk_id", world["courses"]) is None
    assert column(db_conn, "site_roles", "granted_by", world["site_roles"]) is None
    assert column(db_conn, "suggested_edits", "reviewer_clerk_id", world["suggested_edits"]) is None


def test_deleting_a_course_deletes_everything_under_it(db_conn: Conn, world: dict[str, Any]) -> None:
    db_conn.execute("DELETE FROM courses WHERE id = %s", [world["courses"]])
    # moderation_actions is not in it: the log outlives the content it acted on.
    assert set(world) - present(db_conn, world) == {
        "courses", "units", "lessons", "media", "quizzes", "quiz_attempts", "course_tags", "user_courses",
        "user_progress", "forum_posts", "forum_replies", "forum_post_likes", "forum_reply_likes",
        "collaborators", "suggested_edits", "course_feedback", "feedback_upvotes", "favorites",
        "moderation_reports", "collaboration_requests", "review_replies",
        "forum_post_view_counts", "forum_thread_follows", "forum_course_post_counts", "course_stats",
        "lesson_progress_counts",
        "feedback_upvote_counts", "forum_course_activity", "course_points", "course_points_histogram",
        "course_roster_names",
    }  # fmt: skip
    # A learner's flashcards outlive the course they were made for.
    assert column(db_conn, "flashcard_sets", "course_id", world["flashcard_sets"]) is None


def test_deleting_a_unit_deletes_its_lessons_and_what_hangs_off_them(
    db_conn: Conn, world: dict[str, Any]
) -> None:
    db_conn.execute("DELETE FROM units WHERE id = %s", [world["units"]])
    assert set(world) - present(db_conn, world) == {
        "units", "lessons", "media", "quizzes", "quiz_attempts", "user_progress", "suggested_edits",
        "lesson_progress_counts",
    }  # fmt: skip


def test_deleting_a_reply_deletes_the_replies_nested_under_it(db_conn: Conn, world: dict[str, Any]) -> None:
    nested = scalar(
        db_conn,
        "INSERT INTO forum_replies (post_id, parent_reply_id, author_clerk_id, body)"
        " VALUES (%(forum_posts)s, %(forum_replies)s, 'clerk_a', 'Like ã in irmã.') RETURNING id",
        world,
    )
    db_conn.execute("DELETE FROM forum_replies WHERE id = %s", [world["forum_replies"]])
    assert scalar(db_conn, "SELECT count(*) FROM forum_replies WHERE id = %s", [nested]) == 0
    assert "forum_posts" in present(db_conn, world)


def test_a_new_clerk_id_follows_into_every_referencing_row(db_conn: Conn, world: dict[str, Any]) -> None:
    references = [fk for fk in foreign_keys(db_conn) if fk.target == "users"]

    def count(fk: ForeignKey, clerk_id: str) -> int:
        query = sql.SQL("SELECT count(*) FROM {} WHERE {} = %s").format(
            sql.Identifier(fk.table), sql.Identifier(fk.columns[0])
        )
        found: int = scalar(db_conn, query, [clerk_id])
        return found

    before = {fk.name: count(fk, "clerk_a") + count(fk, "clerk_b") for fk in references}
    assert [name for name, n in before.items() if n == 0] == [], "a reference to users the world leaves empty"
    db_conn.execute("UPDATE users SET clerk_id = clerk_id || '_v2'")
    after = {fk.name: count(fk, "clerk_a_v2") + count(fk, "clerk_b_v2") for fk in references}
    stale = {fk.name: count(fk, "clerk_a") + count(fk, "clerk_b") for fk in references}
    assert after == before
    assert set(stale.values()) == {0}


ADD_ITEM = {
    "units": "INSERT INTO units (course_id, title, position) VALUES (%s, 'Unit', %s) RETURNING id",
    "lessons": """INSERT INTO lessons (unit_id, title, content_type, content, position)
                  VALUES (%s, 'Lesson', 'text', '{"body": "b"}', %s) RETURNING id""",
}


@pytest.mark.parametrize(
    ("table", "constraint"),
    [("units", "units_course_position_key"), ("lessons", "lessons_unit_position_key")],
)
def test_positions_swap_in_a_deferred_transaction_and_duplicates_fail_at_commit(
    fresh_db: str, table: str, constraint: str
) -> None:
    move = sql.SQL("UPDATE {} SET position = %s WHERE id = %s").format(sql.Identifier(table))
    defer = sql.SQL("SET CONSTRAINTS {} DEFERRED").format(sql.Identifier(constraint))
    listing = sql.SQL("SELECT id, position FROM {}").format(sql.Identifier(table))
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        with conn.transaction():
            course = scalar(conn, "INSERT INTO courses (title) VALUES ('Reorder me') RETURNING id")
            unit = scalar(conn, ADD_ITEM["units"], [course, 9])
            owner = course if table == "units" else unit
            first, second = (scalar(conn, ADD_ITEM[table], [owner, position]) for position in (0, 1))

        # Checked after each statement by default: a swap done one row at a time collides halfway.
        with pytest.raises(errors.UniqueViolation) as immediate, conn.transaction():
            conn.execute(move, [1, first])
        assert immediate.value.diag.constraint_name == constraint

        with conn.transaction():
            conn.execute(defer)
            conn.execute(move, [1, first])
            conn.execute(move, [0, second])
        positions = dict(rows(conn, listing))
        assert (positions[first], positions[second]) == (1, 0)

        conn.execute("BEGIN")
        conn.execute(defer)
        conn.execute(move, [1, second])
        duplicates = [position for position in dict(rows(conn, listing)).values() if position == 1]
        assert len(duplicates) == 2, "a duplicate is allowed until COMMIT"
        with pytest.raises(errors.UniqueViolation) as at_commit:
            conn.execute("COMMIT")
        assert at_commit.value.diag.constraint_name == constraint
        positions = dict(rows(conn, listing))
        assert (positions[first], positions[second]) == (1, 0)


# ---- the migrations build exactly the schema --------------------------------------------------------

# Everything in a database that is ours, as comparable rows; OIDs never appear, only names and
# definitions as PostgreSQL prints them back. Column order is kept: `SELECT *` and COPY see it.
CATALOG: dict[str, str] = {
    "schemas": "SELECT nspname FROM pg_namespace WHERE oid >= 16384",
    "extensions": "SELECT extname, extversion FROM pg_extension",
    "relations": f"""
        SELECT c.relname, c.relkind, c.relpersistence, c.relrowsecurity, c.reloptions,
               CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END
        FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind NOT IN ('i', 'I') AND {NOT_YOYO}
          AND NOT EXISTS (SELECT FROM pg_depend d JOIN pg_class o ON o.oid = d.refobjid
                          WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass
                            AND d.refclassid = 'pg_class'::regclass
                            AND o.relname ~ '^(_yoyo_|yoyo_lock$)')""",
    "columns": f"""
        SELECT c.relname, row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum), a.attname,
               format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid),
               a.attidentity, a.attgenerated, a.attcollation::regcollation::text
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')
          AND a.attnum > 0 AND NOT a.attisdropped AND {NOT_YOYO}""",
    "constraints": f"""
        SELECT coalesce(c.relname, k.contypid::regtype::text), k.conname, k.contype,
               pg_get_constraintdef(k.oid), k.convalidated
        FROM pg_constraint k LEFT JOIN pg_class c ON c.oid = k.conrelid
        WHERE k.connamespace = 'public'::regnamespace AND (c.relname IS NULL OR {NOT_YOYO})""",
    "indexes": f"""
        SELECT ci.relname, pg_get_indexdef(i.indexrelid), i.indisvalid
        FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class ci ON ci.oid = i.indexrelid
        WHERE c.relnamespace = 'public'::regnamespace AND {NOT_YOYO}""",
    "triggers": f"""
        SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal AND {NOT_YOYO}""",
    "functions": """
        SELECT p.proname, pg_get_function_identity_arguments(p.oid), p.prokind,
               CASE WHEN p.prokind IN ('f', 'p') THEN pg_get_functiondef(p.oid) END
        FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace""",
    "types": """
        SELECT t.typname, t.typtype, format_type(t.typbasetype, t.typtypmod), t.typnotnull, t.typdefault,
               array(SELECT enumlabel::text FROM pg_enum WHERE enumtypid = t.oid ORDER BY enumsortorder)
        FROM pg_type t
        WHERE t.typnamespace = 'public'::regnamespace AND t.typtype <> 'c' AND t.typcategory <> 'A'""",
    "policies": """
        SELECT p.polrelid::regclass::text, p.polname, p.polcmd, p.polpermissive,
               pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
        FROM pg_policy p""",
    # Objects created after initdb have OIDs from 16384 on, so this is every comment of ours.
    "comments": """
        SELECT pg_describe_object(classoid, objoid, objsubid), description
        FROM pg_description WHERE objoid >= 16384""",
}


def snapshot(dsn: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(dsn) as conn:
        return {kind: sorted(rows(conn, query), key=repr) for kind, query in CATALOG.items()}


def differences(
    left: dict[str, list[tuple[Any, ...]]], right: dict[str, list[tuple[Any, ...]]]
) -> dict[str, dict[str, list[tuple[Any, ...]]]]:
    """Per kind of object, the rows only one side has; empty when the two catalogs match."""
    found = {}
    for kind in CATALOG:
        only_left = [row for row in left[kind] if row not in right[kind]]
        only_right = [row for row in right[kind] if row not in left[kind]]
        if only_left or only_right:
            found[kind] = {"only in the first": only_left, "only in the second": only_right}
    return found


@contextmanager
def scratch_database(server_dsn: str) -> Iterator[str]:
    name = unique_name("schema")
    try:
        yield create_database(server_dsn, name)
    finally:
        drop_database(server_dsn, name)


def apply_schema_files(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        for path in sorted(SCHEMA_DIR.glob("*.sql")):
            conn.execute(path.read_bytes())


def test_migrations_build_the_schema_roll_back_to_nothing_and_build_it_again(
    learnstore_server_dsn: str,
) -> None:
    with (
        scratch_database(learnstore_server_dsn) as declared,
        scratch_database(learnstore_server_dsn) as migrated,
        scratch_database(learnstore_server_dsn) as untouched,
    ):
        apply_schema_files(declared)
        expected, empty = snapshot(declared), snapshot(untouched)
        assert {row[0] for row in expected["relations"]} >= SEED_TABLES

        applied = upgrade(migrated)
        assert applied, "no migration to apply"
        assert differences(snapshot(migrated), expected) == {}, "sql/schema and migrations/ disagree"

        assert rollback(migrated, steps=None) == applied[::-1]
        assert differences(snapshot(migrated), empty) == {}, "a rollback leaves something behind"
        with psycopg.connect(migrated) as conn:
            left = {
                name for (name,) in rows(conn, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            }
            assert scalar(conn, "SELECT count(*) FROM _yoyo_migration") == 0
        # yoyo's bookkeeping, and learnstore's migrator's next to it (checksums, whose lock is whose)
        yoyo = {"_yoyo_migration", "_yoyo_log", "_yoyo_version", "yoyo_lock"}
        assert left == yoyo | {"_yoyo_learnstore_checksum", "_yoyo_learnstore_lock"}

        assert upgrade(migrated) == applied
        assert differences(snapshot(migrated), expected) == {}, "re-applying the migrations differs"
        assert upgrade(migrated) == []
