"""The derived values learnstore stores, each with the SQL that recomputes it from the base rows,
finds drift, and repairs it: what `learnstore check` and `store.check()` run (docs/derived-state.md).

The SQL lives here rather than in sql/queries/: the check runs each value's statements the same way,
by name, and a typed method per statement would add nothing the check reads. tests/test_check.py
runs every statement against a migrated database.

A drift statement returns (key, stored, expected) text rows, one per thing whose stored value is not
the recomputed one; `{sample}` is where a TABLESAMPLE clause goes on its driving table (a sampled
check reads part of the rows, whole groups at a time). A repair is a list of statements run in one
short transaction per batch of keys (`%(keys)s`, a text[]): the first ones lock what the batch
rewrites, the last recomputes it, in a later statement, so with a snapshot that holds every write
that committed before the locks were granted (READ COMMITTED).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["DERIVED_VALUES", "CheckReport", "DerivedValue", "Drift"]


@dataclass(frozen=True)
class DerivedValue:
    """One derived value: where it is stored, how it stays exact, and its check and repair SQL."""

    name: str
    stored_in: str
    kept_by: str
    drift_sql: str
    repair_sql: tuple[str, ...]


@dataclass
class Drift:
    """The check of one derived value: how many keys drifted, the first examples, and (after a
    repair) how many were repaired and how many still drift."""

    name: str
    drifted: int
    examples: list[dict[str, str]] = field(default_factory=list)
    repaired: int = 0
    remaining: int | None = None

    def describe(self, *, examples: int = 1) -> str:
        """`streaks: 2 drift`, the repair's outcome, and the first `examples` on lines of their own."""
        line = f"{self.name}: {self.drifted} drift"
        if self.remaining is not None:
            line += f", {self.repaired} repaired, {self.remaining} remaining"
        for example in self.examples[:examples]:
            line += f"\n    {example['key']}: stored {example['stored']}, expected {example['expected']}"
        return line


@dataclass
class CheckReport:
    """Every derived value's drift; `drift` is the total, 0 when every value is exact."""

    values: list[Drift]
    sampled: float | None = None

    @property
    def drift(self) -> int:
        """Keys still drifting: after a repair, those it could not fix."""
        return sum(d.drifted if d.remaining is None else d.remaining for d in self.values)

    def summary(self) -> str:
        """A line per value (`user_points: 0 drift`), with the first example of any drift."""
        return "\n".join(d.describe() for d in self.values)

    def as_dict(self) -> dict[str, object]:
        """The report as JSON-ready data (`learnstore check --json`)."""
        return {
            "drift": self.drift,
            "sampled": self.sampled,
            "values": [
                {
                    "name": d.name,
                    "drifted": d.drifted,
                    "examples": d.examples,
                    "repaired": d.repaired,
                    "remaining": d.remaining,
                }
                for d in self.values
            ],
        }


# The exclusive form of the lock evaluate_achievements takes per user (78_achievement_evaluation.sql):
# held, no award is being made anywhere, so a batch rewrites totals that no evaluation is changing.
_NO_EVALUATION = "SELECT pg_advisory_xact_lock(hashtext('learnstore.evaluate_achievements'))"

_AWARDS = DerivedValue(
    name="achievement_awards",
    stored_in="user_achievements (earned_at)",
    kept_by="evaluate_achievements locks each user it scores before counting; ON CONFLICT awards once",
    drift_sql="""
WITH needed AS (
    SELECT array(SELECT DISTINCT k.kind FROM achievements a,
                 unnest(achievement_requirement_kinds(a.requirement)) AS k (kind)) AS kinds,
           array(SELECT DISTINCT (found.course_id #>> '{}')::uuid
                 FROM achievements a,
                      jsonb_path_query(a.requirement, 'lax $.**.course_id') AS found (course_id)
                 WHERE jsonb_typeof(found.course_id) = 'string') AS courses
), learners AS (
    SELECT array(SELECT u.clerk_id FROM users u {sample}) AS ids
)
SELECT m.user_clerk_id AS key, 'not earned: ' || a.code AS stored,
       'earned (' || s.score[1] || ' of ' || s.score[2] || ')' AS expected
FROM needed, learners, achievement_metrics(learners.ids, needed.kinds, needed.courses) AS m
CROSS JOIN achievements a
CROSS JOIN LATERAL (SELECT achievement_score(a.requirement, m.metrics) AS score) AS s
WHERE EXISTS (SELECT FROM achievements) AND s.score[1] >= s.score[2]
  AND NOT EXISTS (SELECT FROM user_achievements ua
                  WHERE ua.user_clerk_id = m.user_clerk_id AND ua.achievement_id = a.id
                    AND ua.earned_at IS NOT NULL)
""",
    # evaluate_achievements takes its own locks, then counts in a later statement
    repair_sql=("SELECT count(*) FROM evaluate_achievements(%(keys)s::text[], NULL, NULL)",),
)

_POINTS = DerivedValue(
    name="user_points",
    stored_in="user_points (points, achievements)",
    kept_by="deltas added by the user_achievements triggers: additions commute, none is lost",
    drift_sql="""
SELECT u.clerk_id AS key,
       coalesce(up.points, 0) || ' points, ' || coalesce(up.achievements, 0) || ' achievements' AS stored,
       coalesce(e.points, 0) || ' points, ' || e.achievements || ' achievements' AS expected
FROM users u {sample}
LEFT JOIN user_points up ON up.user_clerk_id = u.clerk_id
CROSS JOIN LATERAL (SELECT sum(a.points) AS points, count(*) AS achievements
                    FROM user_achievements ua JOIN achievements a ON a.id = ua.achievement_id
                    WHERE ua.user_clerk_id = u.clerk_id AND ua.earned_at IS NOT NULL) AS e
WHERE coalesce(up.points, 0) <> coalesce(e.points, 0) OR coalesce(up.achievements, 0) <> e.achievements
""",
    repair_sql=(
        _NO_EVALUATION,
        "SELECT FROM user_points WHERE user_clerk_id = ANY (%(keys)s::text[])"
        " ORDER BY user_clerk_id FOR UPDATE",
        """
INSERT INTO user_points AS up (user_clerk_id, points, achievements, reached_at)
SELECT k.id, coalesce(sum(a.points), 0), count(a.id), now()
FROM unnest(%(keys)s::text[]) AS k (id)
JOIN users u ON u.clerk_id = k.id
LEFT JOIN user_achievements ua ON ua.user_clerk_id = k.id AND ua.earned_at IS NOT NULL
LEFT JOIN achievements a ON a.id = ua.achievement_id
GROUP BY k.id
ON CONFLICT (user_clerk_id) DO UPDATE SET points = excluded.points, achievements = excluded.achievements
""",
    ),
)

_LIKE_NOTIFICATIONS = DerivedValue(
    name="like_notifications",
    stored_in="notifications (type 'like')",
    kept_by="the unique key notifications_like_once_key: one per author, source and liker",
    drift_sql="""
SELECT n.id::text AS key,
       'another like notification to ' || n.user_clerk_id || ' by ' || (n.metadata ->> 'by') AS stored,
       'none' AS expected
FROM notifications n {sample}
WHERE n.type = 'like' AND n.metadata ->> 'by' IS NOT NULL
  AND EXISTS (SELECT FROM notifications e
              WHERE e.type = 'like' AND e.source_id = n.source_id AND e.user_clerk_id = n.user_clerk_id
                AND e.metadata ->> 'by' = n.metadata ->> 'by' AND (e.created_at, e.id) < (n.created_at, n.id))
""",
    repair_sql=("DELETE FROM notifications WHERE id = ANY (%(keys)s::uuid[])",),
)

_ENROLMENTS = DerivedValue(
    name="enrolment_progress",
    stored_in="user_courses (progress, completed_at)",
    kept_by="every path locks the enrolments, then recomputes them in a later statement",
    # Set-based: every course's lesson count once, and the completed lessons grouped by (course,
    # learner) in one pass over user_progress (a lookup per enrolment took 36 s at the large scale).
    drift_sql="""
WITH enrolments AS MATERIALIZED (
    SELECT uc.id, uc.user_clerk_id, uc.course_id, uc.progress, uc.completed_at FROM user_courses uc {sample}
), lesson_counts AS (
    SELECT u.course_id, count(*) AS lessons
    FROM units u JOIN lessons l ON l.unit_id = u.id
    GROUP BY u.course_id
), completed AS (
    SELECT u.course_id, p.user_clerk_id, count(*) AS done
    FROM user_progress p JOIN lessons l ON l.id = p.lesson_id JOIN units u ON u.id = l.unit_id
    WHERE p.status = 'completed' AND p.user_clerk_id IN (SELECT e.user_clerk_id FROM enrolments e)
    GROUP BY u.course_id, p.user_clerk_id
), computed AS (
    SELECT e.*, CASE WHEN coalesce(lc.lessons, 0) = 0 THEN 0
                     ELSE (100 * coalesce(cc.done, 0) / lc.lessons)::integer END AS expected
    FROM enrolments e
    LEFT JOIN lesson_counts lc ON lc.course_id = e.course_id
    LEFT JOIN completed cc ON cc.course_id = e.course_id AND cc.user_clerk_id = e.user_clerk_id
)
SELECT c.id::text AS key,
       c.user_clerk_id || ' in ' || c.course_id || ': ' || c.progress
           || CASE WHEN c.completed_at IS NULL THEN '' ELSE ', completed' END AS stored,
       c.expected || CASE WHEN c.expected = 100 THEN ', completed' ELSE '' END AS expected
FROM computed c
WHERE c.progress <> c.expected OR (c.completed_at IS NOT NULL) <> (c.expected = 100)
""",
    repair_sql=(
        "SELECT FROM user_courses WHERE id = ANY (%(keys)s::uuid[]) ORDER BY id FOR NO KEY UPDATE",
        "SELECT count(*) FROM user_courses uc, recompute_enrolments(ARRAY[uc.course_id], uc.user_clerk_id)"
        " WHERE uc.id = ANY (%(keys)s::uuid[])",
    ),
)

_STREAKS = DerivedValue(
    name="streaks",
    stored_in="user_streaks (current_streak, longest_streak, last_active_date)",
    kept_by="record_activity locks the user's row, then recomputes from login_days in a later statement",
    drift_sql="""
SELECT u.clerk_id AS key,
       coalesce(s.current_streak, 0) || ' current, ' || coalesce(s.longest_streak, 0) || ' longest, last '
           || coalesce(s.last_active_date::text, 'never') AS stored,
       c.current_streak || ' current, ' || c.longest_streak || ' longest, last '
           || coalesce(c.last_active_date::text, 'never') AS expected
FROM users u {sample}
LEFT JOIN user_streaks s ON s.user_clerk_id = u.clerk_id
CROSS JOIN LATERAL streak_of(u.clerk_id) AS c
WHERE (coalesce(s.current_streak, 0), coalesce(s.longest_streak, 0), s.last_active_date)
      IS DISTINCT FROM (c.current_streak, c.longest_streak, c.last_active_date)
""",
    repair_sql=(
        "SELECT FROM users WHERE clerk_id = ANY (%(keys)s::text[]) ORDER BY clerk_id FOR NO KEY UPDATE",
        "SELECT count(recompute_streak(k.id)) FROM unnest(%(keys)s::text[]) AS k (id)",
    ),
)

# The last review's "after" state is the schedule: RecordFlashcardReview writes both in one statement.
# Mastery follows learnstore.repositories.flashcards.mastery_of (MASTERY_STABILITY_DAYS).
_LAST_REVIEW = """
JOIN LATERAL (SELECT r.* FROM flashcard_reviews r
              WHERE r.user_clerk_id = f.user_clerk_id AND r.flashcard_id = f.flashcard_id
              ORDER BY r.review_number DESC LIMIT 1) AS r ON true
CROSS JOIN LATERAL (SELECT CASE WHEN r.state_after <> 'review' THEN 1 WHEN r.stability_after < 7 THEN 2
                                WHEN r.stability_after < 30 THEN 3 WHEN r.stability_after < 90 THEN 4
                                ELSE 5 END AS mastery) AS m
"""

_SCHEDULES = DerivedValue(
    name="flashcard_schedules",
    stored_in="user_flashcard_progress (state, stability, difficulty, due, mastery)",
    kept_by="a review writes the schedule and its log row in one statement, versioned by repetitions",
    drift_sql=f"""
SELECT f.id::text AS key,
       f.user_clerk_id || ' card ' || f.flashcard_id || ': review ' || f.repetitions || ', ' || f.state
           || ', mastery ' || f.mastery || ', due ' || f.next_review_at AS stored,
       'review ' || r.review_number || ', ' || r.state_after || ', mastery ' || m.mastery
           || ', due ' || r.due_after AS expected
FROM user_flashcard_progress f {{sample}}
{_LAST_REVIEW}
WHERE (f.repetitions, f.state, f.step, f.stability, f.difficulty, f.next_review_at, f.last_reviewed_at,
       f.mastery)
      IS DISTINCT FROM (r.review_number, r.state_after, r.step_after, r.stability_after, r.difficulty_after,
                        r.due_after, r.reviewed_at, m.mastery)
""",
    repair_sql=(
        "SELECT FROM user_flashcard_progress WHERE id = ANY (%(keys)s::uuid[]) ORDER BY id FOR UPDATE",
        f"""
UPDATE user_flashcard_progress AS p
SET repetitions = r.review_number, state = r.state_after, step = r.step_after,
    stability = r.stability_after, difficulty = r.difficulty_after, next_review_at = r.due_after,
    last_reviewed_at = r.reviewed_at, mastery = m.mastery
FROM user_flashcard_progress f
{_LAST_REVIEW}
WHERE p.id = f.id AND f.id = ANY (%(keys)s::uuid[])
""",
    ),
)


def _positions(name: str, child: str, parent: str, parent_key: str, lock: str) -> DerivedValue:
    """Dense positions 0..n-1 of `child` rows under each `parent` row (a unique key forbids equal ones,
    so the lowest being 0 and the highest n-1 means no gap)."""
    return DerivedValue(
        name=name,
        stored_in=f"{child}.position",
        kept_by=f"every change of order locks the {parent} row first, then renumbers in later statements",
        drift_sql=f"""
SELECT x.id::text AS key, string_agg(c.position::text, ',' ORDER BY c.position) AS stored,
       '0 to ' || (count(*) - 1) AS expected
FROM {parent} x {{sample}}
JOIN {child} c ON c.{parent_key} = x.id
GROUP BY x.id
HAVING min(c.position) <> 0 OR max(c.position) <> count(*) - 1
""",
        repair_sql=(
            lock,
            # the unique (parent, position) keys are DEFERRABLE: checked at the end of the statement
            f"""
UPDATE {child} AS c SET position = d.rank - 1
FROM (SELECT id, row_number() OVER (PARTITION BY {parent_key} ORDER BY position, id) AS rank
      FROM {child} WHERE {parent_key} = ANY (%(keys)s::uuid[])) AS d
WHERE c.id = d.id AND c.position <> d.rank - 1
""",
        ),
    )


_UNITS = _positions(
    "unit_positions",
    "units",
    "courses",
    "course_id",
    "SELECT count(lock_course_content(k.id)) FROM (SELECT unnest(%(keys)s::uuid[]) AS id ORDER BY 1) AS k",
)
_LESSONS = _positions(
    "lesson_positions",
    "lessons",
    "units",
    "unit_id",
    "SELECT count(lock_course_content(k.course_id))"
    " FROM (SELECT DISTINCT course_id FROM units WHERE id = ANY (%(keys)s::uuid[]) ORDER BY 1) AS k",
)
_CARDS = _positions(
    "card_positions",
    "flashcards",
    "flashcard_sets",
    "set_id",
    "SELECT count(lock_flashcard_set(k.id, NULL))"
    " FROM (SELECT unnest(%(keys)s::uuid[]) AS id ORDER BY 1) AS k",
)
_LESSON_ITEM_LOCK = (
    "SELECT count(lock_course_content(k.course_id))"
    " FROM (SELECT DISTINCT u.course_id FROM lessons l JOIN units u ON u.id = l.unit_id"
    " WHERE l.id = ANY (%(keys)s::uuid[]) ORDER BY 1) AS k"
)
_QUIZZES = _positions("quiz_positions", "quizzes", "lessons", "lesson_id", _LESSON_ITEM_LOCK)
_MEDIA = _positions("media_positions", "media", "lessons", "lesson_id", _LESSON_ITEM_LOCK)

# A set's learners: every (set, learner) pair a schedule names has its row (the row stays when the
# schedule goes: the learner did use the set). The key is the set's id (36 characters), a space and
# the learner's clerk_id.
_SET_LEARNERS = DerivedValue(
    name="set_learners",
    stored_in="flashcard_set_learners",
    kept_by="a trigger on user_flashcard_progress inserts the pair; the unique key makes it once",
    drift_sql="""
SELECT f.set_id || ' ' || p.user_clerk_id AS key, 'not a learner' AS stored,
       'a learner (has started ' || count(*) || ' of its cards)' AS expected
FROM user_flashcard_progress p {sample}
JOIN flashcards f ON f.id = p.flashcard_id
WHERE NOT EXISTS (SELECT FROM flashcard_set_learners l
                  WHERE l.set_id = f.set_id AND l.user_clerk_id = p.user_clerk_id)
GROUP BY f.set_id, p.user_clerk_id
""",
    # the pairs' trigger adds them to their sets' counts
    repair_sql=(
        "INSERT INTO flashcard_set_learners (set_id, user_clerk_id)"
        " SELECT left(k.key, 36)::uuid, substr(k.key, 38) FROM unnest(%(keys)s::text[]) AS k (key)"
        " ORDER BY 1, 2 ON CONFLICT (set_id, user_clerk_id) DO NOTHING",
    ),
)

_SET_LEARNER_COUNTS = DerivedValue(
    name="set_learner_counts",
    stored_in="flashcard_sets.learners",
    kept_by="deltas added by the flashcard_set_learners triggers: additions commute, none is lost",
    drift_sql="""
SELECT s.id::text AS key, s.learners::text AS stored, c.learners::text AS expected
FROM flashcard_sets s {sample}
CROSS JOIN LATERAL (SELECT count(*) AS learners FROM flashcard_set_learners l WHERE l.set_id = s.id) AS c
WHERE s.learners <> c.learners
""",
    # locked, then counted in a later statement: a pair added meanwhile waits for the lock to add its delta
    repair_sql=(
        "SELECT FROM flashcard_sets WHERE id = ANY (%(keys)s::uuid[]) ORDER BY id FOR NO KEY UPDATE",
        "UPDATE flashcard_sets s"
        " SET learners = (SELECT count(*) FROM flashcard_set_learners l WHERE l.set_id = s.id)"
        " WHERE s.id = ANY (%(keys)s::uuid[])",
    ),
)

# A course's live forum posts, visible and hidden apart (forum_course_post_counts, migration 0025): the
# feeds' totals sum them. The key is the course's id; a course without a row counts none.
_FORUM_POST_COUNTS = DerivedValue(
    name="forum_post_counts",
    stored_in="forum_course_post_counts",
    kept_by="deltas added by statement triggers on forum_posts, in course order: additions commute",
    drift_sql="""
SELECT c.id::text AS key,
       coalesce(n.visible_posts, 0) || ' visible, ' || coalesce(n.hidden_posts, 0) || ' hidden'
           || CASE WHEN n.published THEN ', published' ELSE '' END AS stored,
       e.visible || ' visible, ' || e.hidden || ' hidden'
           || CASE WHEN c.status = 'published' THEN ', published' ELSE '' END AS expected
FROM courses c {sample}
LEFT JOIN forum_course_post_counts n ON n.course_id = c.id
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE p.hidden_at IS NULL) AS visible,
           count(*) FILTER (WHERE p.hidden_at IS NOT NULL) AS hidden
    FROM forum_posts p WHERE p.course_id = c.id AND p.deleted_at IS NULL
) AS e
WHERE (coalesce(n.visible_posts, 0), coalesce(n.hidden_posts, 0)) <> (e.visible, e.hidden)
   -- a course without a row has nothing to flag (its first post's row reads the course's status)
   OR n.published IS DISTINCT FROM (c.status = 'published') AND n.course_id IS NOT NULL
""",
    # locked (made first if missing), then counted in a later statement: a post written meanwhile
    # waits for the lock to add its delta
    repair_sql=(
        "INSERT INTO forum_course_post_counts (course_id)"
        " SELECT k.id FROM unnest(%(keys)s::uuid[]) AS k (id) JOIN courses c ON c.id = k.id ORDER BY 1"
        " ON CONFLICT (course_id) DO NOTHING",
        "SELECT FROM forum_course_post_counts WHERE course_id = ANY (%(keys)s::uuid[])"
        " ORDER BY course_id FOR NO KEY UPDATE",
        # the published flag too (it takes a row lock the course's publication queues on): the
        # platform's shards follow through their trigger on these rows
        "UPDATE forum_course_post_counts n"
        " SET visible_posts = e.visible, hidden_posts = e.hidden, published = e.published"
        " FROM (SELECT k.id, count(p.id) FILTER (WHERE p.hidden_at IS NULL) AS visible,"
        "              count(p.id) FILTER (WHERE p.hidden_at IS NOT NULL) AS hidden,"
        "              forum_course_published(k.id) AS published"
        "       FROM unnest(%(keys)s::uuid[]) AS k (id)"
        "       LEFT JOIN forum_posts p ON p.course_id = k.id AND p.deleted_at IS NULL GROUP BY k.id) AS e"
        " WHERE n.course_id = e.id",
    ),
)

# The platform's live posts (forum_platform_post_counts, migration 0036): the platform-wide feed's
# total sums the shards. What they must hold is the sum of the published courses' counters
# (forum_post_counts above checks those against the posts), read in the same snapshot: every write
# changes both in one transaction. One key, 'platform'; a sampled check still reads it whole.
_FORUM_PLATFORM_POST_COUNTS = DerivedValue(
    name="forum_platform_post_counts",
    stored_in="forum_platform_post_counts",
    kept_by="deltas of the published courses' counters, added by a statement trigger on"
    " forum_course_post_counts to the writer's shard: additions commute",
    drift_sql="""
SELECT 'platform' AS key,
       s.visible || ' visible, ' || s.hidden || ' hidden' AS stored,
       e.visible || ' visible, ' || e.hidden || ' hidden' AS expected
FROM (SELECT coalesce(sum(t.visible_posts), 0) AS visible, coalesce(sum(t.hidden_posts), 0) AS hidden
      FROM forum_platform_post_counts t) AS s
CROSS JOIN (SELECT coalesce(sum(n.visible_posts), 0) AS visible, coalesce(sum(n.hidden_posts), 0) AS hidden
            FROM forum_course_post_counts n WHERE n.published) AS e
WHERE (s.visible, s.hidden) <> (e.visible, e.hidden)
""",
    # every shard locked, in shard order (shard 0 made if missing), then the sum put on shard 0 in a
    # later statement: a writer holding a shard commits first and is in the sum; one that has not
    # reached its shard yet adds its delta after
    repair_sql=(
        "INSERT INTO forum_platform_post_counts (shard) VALUES (0) ON CONFLICT (shard) DO NOTHING",
        "SELECT FROM forum_platform_post_counts ORDER BY shard FOR NO KEY UPDATE",
        "UPDATE forum_platform_post_counts t"
        " SET visible_posts = CASE WHEN t.shard = 0 THEN e.visible ELSE 0 END,"
        "     hidden_posts = CASE WHEN t.shard = 0 THEN e.hidden ELSE 0 END"
        " FROM (SELECT coalesce(sum(n.visible_posts), 0) AS visible,"
        "              coalesce(sum(n.hidden_posts), 0) AS hidden"
        "       FROM forum_course_post_counts n WHERE n.published) AS e",
    ),
)


# A user's forum activity (forum_user_activity, migration 0027): the summary's counts as moderators,
# everyone and the user see them, summed over the user's shards. The key is the user's clerk id; a
# user without a row counts none.
# Both sides come from the same SQL functions the migration's backfill runs.
_FORUM_ACTIVITY_COUNTS = (
    "posts, posts_public, replies, replies_public, replies_own, likes_given, likes_given_public,"
    " likes_given_own, likes_received, likes_received_public, likes_received_own"
)
_FORUM_ACTIVITY = DerivedValue(
    name="forum_activity",
    stored_in="forum_user_activity",
    kept_by="terms added by statement triggers on forum_posts, forum_replies and both like tables,"
    " in clerk_id order: additions commute",
    drift_sql=f"""
SELECT e.clerk_id AS key,
       CASE WHEN a.shards IS NULL THEN 'none' ELSE a.counts::text END AS stored,
       ARRAY[{", ".join(f"e.{c}" for c in _FORUM_ACTIVITY_COUNTS.split(", "))}]::text AS expected
FROM forum_user_activity_expected(ARRAY(SELECT u.clerk_id FROM users u {{sample}})) AS e
LEFT JOIN (
    SELECT s.clerk_id, count(*) AS shards,
           ARRAY[{", ".join(f"sum(s.{c})" for c in _FORUM_ACTIVITY_COUNTS.split(", "))}]::bigint[] AS counts
    FROM forum_user_activity s GROUP BY s.clerk_id
) AS a ON a.clerk_id = e.clerk_id
WHERE coalesce(a.counts, '{{0,0,0,0,0,0,0,0,0,0,0}}')
      IS DISTINCT FROM ARRAY[{", ".join(f"e.{c}" for c in _FORUM_ACTIVITY_COUNTS.split(", "))}]::bigint[]
""",
    # rows made if missing and locked, then recounted in a later statement: a like written meanwhile
    # waits for the lock to add its term
    repair_sql=("SELECT forum_user_activity_recount(%(keys)s::text[])",),
)


# A course's forum events per hour (forum_course_activity, migration 0031): every hour's events as
# moderators and everyone see them, summed over the hour's shards; hours that sum to nothing are
# none. The key is the course's id. Both sides come from the same SQL functions the migration's
# backfill runs; the repair adds the difference in one statement, as a writer adds its events.
_COURSE_ACTIVITY_HOURS = """
    SELECT count(*) || ' hours, ' || coalesce(sum(h.events), 0) || ' events, '
           || coalesce(sum(h.events_public), 0) || ' public, digest '
           || left(md5(coalesce(string_agg(h.bucket || ':' || h.events || '/' || h.events_public, ','
                                           ORDER BY h.bucket), '')), 8) AS value
    FROM ({hours}) AS h"""
_STORED_HOURS = """
        SELECT a.bucket, sum(a.events) AS events, sum(a.events_public) AS events_public
        FROM forum_course_activity a WHERE a.course_id = c.id
        GROUP BY a.bucket HAVING (sum(a.events), sum(a.events_public)) <> (0, 0)"""
_EXPECTED_HOURS = """
        SELECT x.bucket, x.events, x.events_public FROM forum_course_activity_expected(ARRAY[c.id]) AS x"""
_FORUM_COURSE_ACTIVITY = DerivedValue(
    name="forum_course_activity",
    stored_in="forum_course_activity",
    kept_by="events added by statement triggers on forum_posts, forum_replies and both like tables,"
    " in (course, hour) order: additions commute",
    drift_sql=f"""
SELECT c.id::text AS key, s.value AS stored, e.value AS expected
FROM courses c {{sample}}
CROSS JOIN LATERAL ({_COURSE_ACTIVITY_HOURS.format(hours=_STORED_HOURS)}) AS s
CROSS JOIN LATERAL ({_COURSE_ACTIVITY_HOURS.format(hours=_EXPECTED_HOURS)}) AS e
WHERE s.value IS DISTINCT FROM e.value
""",
    # the stored sums and the base rows read in one snapshot, their difference added to shard 0:
    # a writer racing it is in both or adds its events after
    repair_sql=("SELECT forum_course_activity_recount(%(keys)s::uuid[])",),
)

# A course's summary (course_stats, migration 0028): enrolments, completions, the sum of progress and
# the per-star counts of visible and hidden ratings, summed over the course's shards. The key is the
# course's id; a course without rows counts none. The repair is course_stats_recount, whose three
# statements make, lock and recount the course's rows (sql/schema/99_course_stats.sql).
_COURSE_STATS_STORED = """
    SELECT coalesce(sum(s.enrolments), 0) || ' enrolments, ' || coalesce(sum(s.completions), 0)
           || ' completions, progress ' || coalesce(sum(s.progress_sum), 0) || ', stars '
           || concat_ws('/', coalesce(sum(s.stars_1), 0), coalesce(sum(s.stars_2), 0),
                        coalesce(sum(s.stars_3), 0), coalesce(sum(s.stars_4), 0), coalesce(sum(s.stars_5), 0))
           || ', hidden '
           || concat_ws('/', coalesce(sum(s.hidden_stars_1), 0), coalesce(sum(s.hidden_stars_2), 0),
                        coalesce(sum(s.hidden_stars_3), 0), coalesce(sum(s.hidden_stars_4), 0),
                        coalesce(sum(s.hidden_stars_5), 0)) AS value
    FROM course_stats s WHERE s.course_id = c.id"""
_COURSE_STATS_EXPECTED = """
    SELECT e.enrolments || ' enrolments, ' || e.completions || ' completions, progress ' || e.progress
           || ', stars ' || concat_ws('/', r.s1, r.s2, r.s3, r.s4, r.s5)
           || ', hidden ' || concat_ws('/', r.h1, r.h2, r.h3, r.h4, r.h5) AS value
    FROM (SELECT count(*) AS enrolments, count(uc.completed_at) AS completions,
                 coalesce(sum(uc.progress), 0) AS progress
          FROM user_courses uc WHERE uc.course_id = c.id) AS e,
         (SELECT count(*) FILTER (WHERE f.hidden_at IS NULL AND f.rating = 1) AS s1,
                 count(*) FILTER (WHERE f.hidden_at IS NULL AND f.rating = 2) AS s2,
                 count(*) FILTER (WHERE f.hidden_at IS NULL AND f.rating = 3) AS s3,
                 count(*) FILTER (WHERE f.hidden_at IS NULL AND f.rating = 4) AS s4,
                 count(*) FILTER (WHERE f.hidden_at IS NULL AND f.rating = 5) AS s5,
                 count(*) FILTER (WHERE f.hidden_at IS NOT NULL AND f.rating = 1) AS h1,
                 count(*) FILTER (WHERE f.hidden_at IS NOT NULL AND f.rating = 2) AS h2,
                 count(*) FILTER (WHERE f.hidden_at IS NOT NULL AND f.rating = 3) AS h3,
                 count(*) FILTER (WHERE f.hidden_at IS NOT NULL AND f.rating = 4) AS h4,
                 count(*) FILTER (WHERE f.hidden_at IS NOT NULL AND f.rating = 5) AS h5
          FROM course_feedback f WHERE f.course_id = c.id) AS r"""
_COURSE_STATS = DerivedValue(
    name="course_stats",
    stored_in="course_stats",
    kept_by="deltas added by statement triggers on user_courses and course_feedback, per (course, shard)"
    " in key order: additions commute",
    drift_sql=f"""
SELECT c.id::text AS key, st.value AS stored, ex.value AS expected
FROM courses c {{sample}}
CROSS JOIN LATERAL ({_COURSE_STATS_STORED}) AS st
CROSS JOIN LATERAL ({_COURSE_STATS_EXPECTED}) AS ex
WHERE st.value <> ex.value
""",
    repair_sql=("SELECT course_stats_recount(%(keys)s::uuid[])",),
)


# A review's upvotes (feedback_upvote_counts, migration 0030), with the review's course and creation
# time the course page's index ranks by. The key is the review's id; a review without a row is drift
# (its course's top reviews would miss it). The repair is feedback_upvote_counts_recount, whose three
# statements make, lock and recount the reviews' rows (sql/schema/99_review_upvotes.sql).
_FEEDBACK_UPVOTE_COUNTS = DerivedValue(
    name="feedback_upvote_counts",
    stored_in="feedback_upvote_counts",
    kept_by="a row made by a statement trigger on course_feedback; deltas added by statement triggers on"
    " feedback_upvotes, in review order: additions commute",
    drift_sql="""
SELECT f.id::text AS key,
       coalesce(n.upvotes || ' upvotes, course ' || n.course_id || ', created ' || n.feedback_created_at,
                'no row') AS stored,
       e.upvotes || ' upvotes, course ' || f.course_id || ', created ' || f.created_at AS expected
FROM course_feedback f {sample}
LEFT JOIN feedback_upvote_counts n ON n.feedback_id = f.id
CROSS JOIN LATERAL (SELECT count(*) AS upvotes FROM feedback_upvotes v WHERE v.feedback_id = f.id) AS e
WHERE n.id IS NULL
   OR (n.upvotes, n.course_id, n.feedback_created_at) <> (e.upvotes, f.course_id, f.created_at)
""",
    repair_sql=("SELECT feedback_upvote_counts_recount(%(keys)s::uuid[])",),
)


def _search_documents(name: str, table: str, document: str) -> DerivedValue:
    """A stored search document (migration 0025): the one its row's text makes now. A repair writes
    the document from the row it updates (READ COMMITTED re-reads an edited row), so a concurrent
    edit cannot leave a stale one."""
    return DerivedValue(
        name=name,
        stored_in=f"{table}.search_document",
        kept_by="a BEFORE INSERT OR UPDATE OF the text trigger, on every path",
        drift_sql=f"""
SELECT t.id::text AS key, coalesce(left(t.search_document::text, 60), 'none') AS stored,
       left(({document})::text, 60) AS expected
FROM {table} t {{sample}}
WHERE t.search_document IS DISTINCT FROM ({document})
""",
        repair_sql=(
            f"UPDATE {table} t SET search_document = {document} WHERE t.id = ANY (%(keys)s::uuid[])",
        ),
    )


_POST_DOCUMENTS = _search_documents(
    "post_search_documents", "forum_posts", "forum_post_document(t.title, t.body)"
)
_REPLY_DOCUMENTS = _search_documents(
    "reply_search_documents", "forum_replies", "to_tsvector('simple'::regconfig, t.body)"
)

# How many learners have each points value (user_points_histogram, migration 0029): the overall
# leaderboard's rank sums the values above the viewer's. The key is the points value; the values
# checked are those of a (sampled) learner and every value the histogram holds, each counted whole.
_POINTS_HISTOGRAM = DerivedValue(
    name="points_histogram",
    stored_in="user_points_histogram",
    kept_by="deltas added by statement triggers on user_points, in value order: additions commute",
    drift_sql="""
SELECT v.points::text AS key, coalesce(h.learners, 0)::text AS stored, e.learners::text AS expected
FROM (SELECT DISTINCT s.points FROM user_points s {sample}
      UNION SELECT hv.points FROM user_points_histogram hv) AS v
CROSS JOIN LATERAL (SELECT sum(hs.learners) AS learners FROM user_points_histogram hs
                    WHERE hs.points = v.points) AS h
CROSS JOIN LATERAL (SELECT count(*) AS learners FROM user_points p WHERE p.points = v.points) AS e
WHERE coalesce(h.learners, 0) <> e.learners
""",
    # the values' shards locked (made if missing), then counted in a later statement: an award
    # meanwhile waits for the lock to add its delta (user_points_histogram_reset)
    repair_sql=("SELECT user_points_histogram_reset(%(keys)s::text[]::integer[])",),
)

# Each enrolled learner's points copied onto their enrolment (course_points, migration 0032): a
# course's leaderboard walks them in rank order. The key is the learner: their rows are what
# user_points and user_courses give, one per enrolment of a learner with a user_points row.
_COURSE_POINTS = DerivedValue(
    name="course_points",
    stored_in="course_points (points, reached_at)",
    kept_by="statement triggers on user_points (copied onto the learner's enrolments) and user_courses"
    " (copied onto a new enrolment), under an advisory lock per learner; cascades from the enrolment",
    drift_sql="""
SELECT u.clerk_id AS key, coalesce(s.rows, 'none') AS stored, coalesce(e.rows, 'none') AS expected
FROM users u {sample}
CROSS JOIN LATERAL (SELECT string_agg(cp.course_id || ': ' || cp.points
                                      || ' at ' || coalesce(cp.reached_at::text, '-'),
                                      ', ' ORDER BY cp.course_id) AS rows
                    FROM course_points cp WHERE cp.user_clerk_id = u.clerk_id) AS s
CROSS JOIN LATERAL (SELECT string_agg(uc.course_id || ': ' || p.points
                                      || ' at ' || coalesce(p.reached_at::text, '-'),
                                      ', ' ORDER BY uc.course_id) AS rows
                    FROM user_courses uc JOIN user_points p ON p.user_clerk_id = uc.user_clerk_id
                    WHERE uc.user_clerk_id = u.clerk_id) AS e
WHERE s.rows IS DISTINCT FROM e.rows
""",
    # the learners' user_points rows and advisory locks taken (an award or an enrolment waits), then
    # copied in later statements (course_points_resync); the histogram follows by its triggers
    repair_sql=("SELECT course_points_resync(%(keys)s::text[])",),
)

# Each enrolled learner's name key copied onto their enrolment (course_roster_names, migration 0040):
# a course's roster by name walks them in order. The key is the learner: their rows are what
# user_courses and users give, one per enrolment, with learnstore_name_key of the learner's name.
_COURSE_ROSTER_NAMES = DerivedValue(
    name="course_roster_names",
    stored_in="course_roster_names (name_key)",
    kept_by="statement triggers on user_courses (a new enrolment's row) and users (a rename), under an"
    " advisory lock per learner; cascades from the enrolment",
    drift_sql="""
SELECT u.clerk_id AS key, coalesce(s.rows, 'none') AS stored, coalesce(e.rows, 'none') AS expected
FROM users u {sample}
CROSS JOIN LATERAL (SELECT string_agg(rn.course_id || ': ' || rn.name_key, ', ' ORDER BY rn.course_id) AS rows
                    FROM course_roster_names rn WHERE rn.user_clerk_id = u.clerk_id) AS s
CROSS JOIN LATERAL (SELECT string_agg(uc.course_id || ': '
                                      || learnstore_name_key(u.first_name, u.last_name, u.clerk_id),
                                      ', ' ORDER BY uc.course_id) AS rows
                    FROM user_courses uc WHERE uc.user_clerk_id = u.clerk_id) AS e
WHERE s.rows IS DISTINCT FROM e.rows
""",
    # the learners' advisory locks taken (a rename or an enrolment waits), then copied in a later
    # statement (course_roster_names_resync)
    repair_sql=("SELECT course_roster_names_resync(%(keys)s::text[])",),
)

# Per course, its learners per points value (course_points_histogram, migration 0032): a course
# leaderboard's rank sums the values above the viewer's. The key is the course.
_COURSE_POINTS_HISTOGRAM = DerivedValue(
    name="course_points_histogram",
    stored_in="course_points_histogram",
    kept_by="deltas added by statement triggers on course_points, in (course, value) order: additions"
    " commute",
    drift_sql="""
SELECT c.id::text AS key, coalesce(h.vals, 'none') AS stored, coalesce(e.vals, 'none') AS expected
FROM courses c {sample}
CROSS JOIN LATERAL (SELECT string_agg(x.points || ': ' || x.learners, ', ' ORDER BY x.points) AS vals
                    FROM (SELECT hs.points, sum(hs.learners) AS learners FROM course_points_histogram hs
                          WHERE hs.course_id = c.id GROUP BY hs.points
                          HAVING sum(hs.learners) <> 0) AS x) AS h
CROSS JOIN LATERAL (SELECT string_agg(x.points || ': ' || x.learners, ', ' ORDER BY x.points) AS vals
                    FROM (SELECT cp.points, count(*) AS learners FROM course_points cp
                          WHERE cp.course_id = c.id GROUP BY cp.points) AS x) AS e
WHERE h.vals IS DISTINCT FROM e.vals
""",
    # the courses' shards locked, then corrected in a later statement (course_points_histogram_reset)
    repair_sql=("SELECT course_points_histogram_reset(%(keys)s::uuid[])",),
)

# Per lesson, the enrolled learners who started and completed it (lesson_progress_counts, migration
# 0029): a course's drop-off (ListLessonCompletions) sums them. The key is the lesson's id.
_LESSON_COUNTS = DerivedValue(
    name="lesson_progress_counts",
    stored_in="lesson_progress_counts (started, completed)",
    kept_by="deltas added by statement triggers on user_progress and user_courses, under advisory"
    " locks per learner and course; recounted when a lesson or unit moves to another course",
    drift_sql="""
SELECT l.id::text AS key,
       coalesce(n.started, 0) || ' started, ' || coalesce(n.completed, 0) || ' completed' AS stored,
       e.started || ' started, ' || e.completed || ' completed' AS expected
FROM lessons l {sample}
JOIN units un ON un.id = l.unit_id
CROSS JOIN LATERAL (SELECT sum(c.started) AS started, sum(c.completed) AS completed
                    FROM lesson_progress_counts c WHERE c.lesson_id = l.id) AS n
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE p.status <> 'not_started') AS started,
           count(*) FILTER (WHERE p.status = 'completed') AS completed
    FROM user_progress p
    WHERE p.lesson_id = l.id
      AND EXISTS (SELECT FROM user_courses uc
                  WHERE uc.user_clerk_id = p.user_clerk_id AND uc.course_id = un.course_id)
) AS e
WHERE (coalesce(n.started, 0), coalesce(n.completed, 0)) <> (e.started, e.completed)
""",
    # locked (made first if missing), then counted in a later statement (lesson_progress_counts_reset)
    repair_sql=("SELECT lesson_progress_counts_reset(%(keys)s::uuid[])",),
)

#: Every stored derived value, in the order the check runs them: awards before the points they add.
DERIVED_VALUES: tuple[DerivedValue, ...] = (
    _ENROLMENTS,
    _STREAKS,
    _SCHEDULES,
    _AWARDS,
    _POINTS,
    _LIKE_NOTIFICATIONS,
    _UNITS,
    _LESSONS,
    _CARDS,
    _QUIZZES,
    _MEDIA,
    _SET_LEARNERS,
    _SET_LEARNER_COUNTS,
    _FORUM_POST_COUNTS,
    _FORUM_PLATFORM_POST_COUNTS,
    _COURSE_STATS,
    _FEEDBACK_UPVOTE_COUNTS,
    _POST_DOCUMENTS,
    _REPLY_DOCUMENTS,
    _POINTS_HISTOGRAM,
    _COURSE_POINTS,
    _COURSE_POINTS_HISTOGRAM,
    _COURSE_ROSTER_NAMES,
    _LESSON_COUNTS,
    _FORUM_ACTIVITY,
    _FORUM_COURSE_ACTIVITY,
)
