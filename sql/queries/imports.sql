-- Bulk import: the statements around the COPYs of learnstore.repositories.imports (the rows
-- themselves go in by COPY, which sqlc does not describe). Each works on whole sets of learners,
-- lessons or courses in one statement, however many rows the import carried.

-- name: ListCoursesOfLessons :many
-- The distinct courses the given lessons belong to (unknown lessons are left out).
SELECT DISTINCT u.course_id
FROM lessons l JOIN units u ON u.id = l.unit_id
WHERE l.id = ANY (sqlc.arg(lesson_ids)::uuid[]);

-- name: LockLearnerEnrolments :execrows
-- Locks the enrolments of the given learners in the given courses, in id order (as
-- refresh_course_enrolments does, so that the two cannot deadlock); returns how many. An import
-- takes these locks before it writes, so that set_lesson_status on one of these enrolments waits
-- for the import instead of deadlocking with it. The enrolments are found by learner only and the
-- courses kept by a hash (see RefreshLearnerEnrolments' scope).
SELECT uc.id
FROM user_courses uc
WHERE uc.id IN (
    SELECT mine.id
    FROM (
        SELECT e.id, e.course_id
        FROM user_courses e
        WHERE e.user_clerk_id = ANY (sqlc.arg(user_clerk_ids)::text[])
        OFFSET 0
    ) mine
    WHERE mine.course_id IN (SELECT unnest(sqlc.arg(course_ids)::uuid[]))
)
ORDER BY uc.id
FOR NO KEY UPDATE;

-- name: RefreshLearnerEnrolments :execrows
-- Recomputes progress and completed_at of the enrolments of the given learners in the given
-- courses, as recompute_enrolments does (floor(100 * completed lessons / lessons of the course),
-- 0 without lessons), in one set-based statement; returns how many changed. An enrolment that
-- reaches 100 keeps its completed_at, else takes its last lesson completion (imported history
-- keeps its dates), else now().
WITH scope AS (
    -- By learner through user_courses_user_course_key, the courses kept by a hash: with both
    -- arrays in the index condition, a btree scan probes every (learner, course) pair, 10,000
    -- learners by 10,000 courses at the million scale: 80 s a batch instead of 0.2 s.
    SELECT mine.id, mine.user_clerk_id, mine.course_id
    FROM (
        SELECT uc.id, uc.user_clerk_id, uc.course_id
        FROM user_courses uc
        WHERE uc.user_clerk_id = ANY (sqlc.arg(user_clerk_ids)::text[])
        OFFSET 0
    ) mine
    WHERE mine.course_id IN (SELECT unnest(sqlc.arg(course_ids)::uuid[]))
), lesson_counts AS (
    SELECT u.course_id, count(*) AS lessons
    FROM units u JOIN lessons l ON l.unit_id = u.id
    WHERE u.course_id = ANY (sqlc.arg(course_ids)::uuid[])
    GROUP BY u.course_id
), course_lessons AS (
    SELECT l.id, u.course_id
    FROM units u JOIN lessons l ON l.unit_id = u.id
    WHERE u.course_id = ANY (sqlc.arg(course_ids)::uuid[])
), completions AS (
    -- Each learner's completed statuses through their own key (user_progress_user_lesson_key):
    -- right after the COPY the statistics do not know the imported rows, and the planner read
    -- every status of the courses' lessons instead (393,000 rows for 192,000 wanted, scattered over
    -- the table: 1.3-2.9 s against 0.7-1.1 s at the large benchmark scale). OFFSET 0 keeps the
    -- per-learner scan from being flattened into that plan.
    SELECT x.user_clerk_id, cl.course_id, count(*) AS completed, max(p.completed_at) AS last_completed_at
    FROM unnest(sqlc.arg(user_clerk_ids)::text[]) AS x (user_clerk_id)
    CROSS JOIN LATERAL (
        SELECT p.lesson_id, p.completed_at
        FROM user_progress p
        WHERE p.user_clerk_id = x.user_clerk_id AND p.status = 'completed'
        OFFSET 0
    ) p
    JOIN course_lessons cl ON cl.id = p.lesson_id
    GROUP BY x.user_clerk_id, cl.course_id
), computed AS (
    SELECT s.id,
           CASE WHEN coalesce(lc.lessons, 0) = 0 THEN 0
                ELSE (100 * coalesce(c.completed, 0) / lc.lessons)::integer END AS progress,
           c.last_completed_at
    FROM scope s
    LEFT JOIN lesson_counts lc ON lc.course_id = s.course_id
    LEFT JOIN completions c ON c.user_clerk_id = s.user_clerk_id AND c.course_id = s.course_id
)
UPDATE user_courses uc
SET progress = c.progress,
    completed_at = CASE WHEN c.progress = 100
                        THEN coalesce(uc.completed_at, c.last_completed_at, now()) END
FROM computed c
WHERE uc.id = c.id
  AND (uc.progress <> c.progress OR (uc.completed_at IS NOT NULL) <> (c.progress = 100));

-- name: LockUsers :execrows
-- Locks the given users' rows, in clerk_id order, as record_activity locks one; returns how many.
-- A login-day import takes these locks before it writes, so that its streak recompute sees every
-- day a concurrent record_activity committed.
SELECT u.id
FROM users u
WHERE u.clerk_id = ANY (sqlc.arg(clerk_ids)::text[])
ORDER BY u.clerk_id
FOR NO KEY UPDATE;

-- name: RecomputeStreaks :execrows
-- Rewrites the user_streaks rows of the given users from login_days, as recompute_streak does for
-- one user (current_streak is the length of the latest run of consecutive days), in one
-- set-based statement; returns how many rows it wrote. Users without login days are left out.
-- One ordered pass (the rows come in (user, day) order from login_days_user_day_key): each day
-- knows where its run started (the latest day whose day before is missing), so a run's length is
-- day - start + 1, and the summary is a plain aggregate per user. Grouping the days into runs
-- first made one group per run: 200,000 groups for an import of every other day, which spilled
-- to disk (0.7 s at the large benchmark scale).
WITH starts AS (
    SELECT d.user_clerk_id,
           d.day,
           d.day - lag(d.day) OVER w IS DISTINCT FROM 1 AS starts_run
    FROM login_days d
    WHERE d.user_clerk_id = ANY (sqlc.arg(user_clerk_ids)::text[])
    WINDOW w AS (PARTITION BY d.user_clerk_id ORDER BY d.day)
), days AS (
    SELECT s.user_clerk_id,
           s.day,
           max(CASE WHEN s.starts_run THEN s.day END)
               OVER (PARTITION BY s.user_clerk_id ORDER BY s.day) AS run_start
    FROM starts s
)
INSERT INTO user_streaks AS s (user_clerk_id, current_streak, longest_streak, last_active_date)
SELECT d.user_clerk_id,
       max(d.day) - max(d.run_start) + 1,
       max(d.day - d.run_start) + 1,
       max(d.day)
FROM days d
GROUP BY d.user_clerk_id
ON CONFLICT (user_clerk_id) DO UPDATE
    SET current_streak = excluded.current_streak,
        longest_streak = excluded.longest_streak,
        last_active_date = excluded.last_active_date;
