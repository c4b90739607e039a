-- Enrolment and progress: enrolling, lesson statuses, each enrolment's 0-100 progress (kept by the
-- functions and triggers of sql/schema/45_progress_functions.sql), the learner's dashboard,
-- "continue where I left off", and author analytics.

-- name: EnrolInCourse :one
-- Enrols a learner in a published course and returns the enrolment; enrolling again returns the
-- same enrolment. Raises for an unknown user or course and for a course that is not published.
SELECT * FROM enrol_in_course(sqlc.arg(user_clerk_id), sqlc.arg(course_id));

-- name: UnenrolFromCourse :one
-- Deletes the enrolment and the learner's lesson statuses in the course; true if there was one.
SELECT unenrol_from_course(sqlc.arg(user_clerk_id), sqlc.arg(course_id)) AS was_enrolled;

-- name: GetEnrolment :one
-- The learner's enrolment in a course.
SELECT * FROM user_courses WHERE user_clerk_id = sqlc.arg(user_clerk_id) AND course_id = sqlc.arg(course_id);

-- name: SetLessonStatus :one
-- Sets the learner's status in a lesson and returns the enrolment with its progress recomputed,
-- in one statement. Raises when the learner is not enrolled in the lesson's course.
SELECT * FROM set_lesson_status(sqlc.arg(user_clerk_id), sqlc.arg(lesson_id), sqlc.arg(status));

-- name: RefreshCourseEnrolments :one
-- Recomputes every enrolment of a course from its lessons and statuses; returns how many changed.
SELECT refresh_course_enrolments(ARRAY[sqlc.arg(course_id)::uuid]) AS changed;

-- name: ListLessonProgress :many
-- The learner's status in every lesson of a course, in course order; not_started where the
-- learner has no status yet.
SELECT l.id AS lesson_id,
       l.title AS lesson_title,
       u.id AS unit_id,
       u.position AS unit_position,
       l.position AS lesson_position,
       coalesce(p.status, 'not_started')::text AS status,
       p.started_at,
       p.completed_at
FROM units u
JOIN lessons l ON l.unit_id = u.id
LEFT JOIN user_progress p ON p.lesson_id = l.id AND p.user_clerk_id = sqlc.arg(user_clerk_id)
WHERE u.course_id = sqlc.arg(course_id)
ORDER BY u.position, l.position;

-- name: ListLearnerCourses :many
-- The learner's dashboard: every course they are enrolled in with its progress, most recent
-- activity first (the latest lesson status change, or the enrolment when there is none).
SELECT c.id AS course_id,
       c.title,
       c.status AS course_status,
       uc.progress,
       uc.completed_at,
       uc.enrolled_at,
       greatest(uc.enrolled_at, (
           SELECT max(p.updated_at)
           FROM units u
           JOIN lessons l ON l.unit_id = u.id
           JOIN user_progress p ON p.lesson_id = l.id
           WHERE u.course_id = uc.course_id AND p.user_clerk_id = uc.user_clerk_id
       ))::timestamptz AS last_activity_at
FROM user_courses uc
JOIN courses c ON c.id = uc.course_id
WHERE uc.user_clerk_id = sqlc.arg(user_clerk_id)
ORDER BY last_activity_at DESC, c.id;

-- name: GetNextLesson :one
-- "Continue where I left off": the first lesson of the course, in course order (unit position,
-- then lesson position), that the learner has not completed, with its status (NULL: never
-- started). One row when the learner is enrolled, whose lesson columns are NULL when every lesson
-- is completed; no row when not enrolled.
SELECT uc.progress,
       l.id AS lesson_id,
       l.title AS lesson_title,
       u.id AS unit_id,
       u.title AS unit_title,
       u.position AS unit_position,
       l.position AS lesson_position,
       p.status
FROM user_courses uc
LEFT JOIN units u ON u.course_id = uc.course_id
LEFT JOIN lessons l
    ON l.unit_id = u.id
   AND NOT EXISTS (SELECT FROM user_progress done
                   WHERE done.lesson_id = l.id AND done.user_clerk_id = uc.user_clerk_id
                     AND done.status = 'completed')
LEFT JOIN user_progress p ON p.lesson_id = l.id AND p.user_clerk_id = uc.user_clerk_id
WHERE uc.user_clerk_id = sqlc.arg(user_clerk_id) AND uc.course_id = sqlc.arg(course_id)
ORDER BY l.id IS NULL, u.position, l.position
LIMIT 1;

-- name: GetCourseStats :one
-- Author analytics for one course: enrolments, completions, the share of enrolments completed
-- (0-1) and the average progress (0-100). On the service path, from the course's summary
-- (course_stats: up to 16 rows, whatever its audience); under as_user, from the enrolments the
-- acting user may see (their own, docs/security.md), as ever.
SELECT c.id AS course_id,
       c.title,
       t.enrolments::integer AS enrolments,
       t.completions::integer AS completions,
       coalesce(t.completions::float8 / nullif(t.enrolments::float8, 0), 0)::float8 AS completion_rate,
       coalesce(t.progress_sum::numeric / nullif(t.enrolments::numeric, 0), 0)::float8 AS average_progress
FROM courses c
CROSS JOIN LATERAL (
    SELECT sum(x.enrolments) AS enrolments, sum(x.completions) AS completions, sum(x.progress_sum) AS progress_sum
    FROM (SELECT coalesce(sum(s.enrolments), 0) AS enrolments, coalesce(sum(s.completions), 0) AS completions,
                 coalesce(sum(s.progress_sum), 0) AS progress_sum
          FROM course_stats s WHERE s.course_id = c.id AND current_user <> 'learnstore_app'
          UNION ALL
          SELECT count(uc.id), count(uc.completed_at), coalesce(sum(uc.progress), 0)
          FROM user_courses uc WHERE uc.course_id = c.id AND current_user = 'learnstore_app') AS x
) t
WHERE c.id = sqlc.arg(course_id);

-- name: ListAuthorCourseStats :many
-- GetCourseStats for every course of an author, newest course first.
SELECT c.id AS course_id,
       c.title,
       t.enrolments::integer AS enrolments,
       t.completions::integer AS completions,
       coalesce(t.completions::float8 / nullif(t.enrolments::float8, 0), 0)::float8 AS completion_rate,
       coalesce(t.progress_sum::numeric / nullif(t.enrolments::numeric, 0), 0)::float8 AS average_progress
FROM courses c
CROSS JOIN LATERAL (
    SELECT sum(x.enrolments) AS enrolments, sum(x.completions) AS completions, sum(x.progress_sum) AS progress_sum
    FROM (SELECT coalesce(sum(s.enrolments), 0) AS enrolments, coalesce(sum(s.completions), 0) AS completions,
                 coalesce(sum(s.progress_sum), 0) AS progress_sum
          FROM course_stats s WHERE s.course_id = c.id AND current_user <> 'learnstore_app'
          UNION ALL
          SELECT count(uc.id), count(uc.completed_at), coalesce(sum(uc.progress), 0)
          FROM user_courses uc WHERE uc.course_id = c.id AND current_user = 'learnstore_app') AS x
) t
WHERE c.author_clerk_id = sqlc.arg(author_clerk_id)
ORDER BY c.created_at DESC, c.id;

-- name: ListLessonCompletions :many
-- Author analytics per lesson of a course, in course order: how many enrolled learners started
-- (in_progress or completed) and completed each; where the completions fall is where learners
-- drop off. On the service path the counts are the lesson's counters (lesson_progress_counts,
-- kept by triggers: a few rows a lesson) and the enrolments the course's summary (course_stats),
-- not a count of every status of the course; under as_user, the statuses and enrolments the
-- acting user may see (their own, docs/security.md), as ever.
SELECT u.id AS unit_id,
       u.title AS unit_title,
       u.position AS unit_position,
       l.id AS lesson_id,
       l.title AS lesson_title,
       l.position AS lesson_position,
       e.enrolments,
       coalesce(c.started, 0)::integer AS started,
       coalesce(c.completed, 0)::integer AS completed
FROM units u
JOIN lessons l ON l.unit_id = u.id
CROSS JOIN (
    -- the course's enrolments: its summary on the service path (course_stats, up to 16 rows), the
    -- enrolments the acting user may see under as_user
    SELECT (coalesce((SELECT sum(s.enrolments) FROM course_stats s
                      WHERE s.course_id = sqlc.arg(course_id) AND current_user <> 'learnstore_app'), 0)
            + (SELECT count(*) FROM user_courses ec
               WHERE ec.course_id = sqlc.arg(course_id) AND current_user = 'learnstore_app'))::integer AS enrolments
) e
LEFT JOIN LATERAL (
    SELECT sum(x.started) AS started, sum(x.completed) AS completed
    FROM (SELECT n.started, n.completed
          FROM lesson_progress_counts n WHERE n.lesson_id = l.id AND current_user <> 'learnstore_app'
          UNION ALL
          SELECT count(p.id) FILTER (WHERE p.status IN ('in_progress', 'completed')),
                 count(p.id) FILTER (WHERE p.status = 'completed')
          FROM user_progress p
          WHERE p.lesson_id = l.id AND current_user = 'learnstore_app'
            AND EXISTS (SELECT FROM user_courses uc
                        WHERE uc.user_clerk_id = p.user_clerk_id AND uc.course_id = u.course_id)) AS x
) c ON true
WHERE u.course_id = sqlc.arg(course_id)
ORDER BY u.position, l.position;
