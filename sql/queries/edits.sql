-- Suggested edits: a user proposes a change to a course or a lesson; its author or an accepted
-- reviewer approves it (applied in the same statement, with a staleness check) or rejects it.

-- name: GetEditTarget :one
-- What a suggested edit would change: the course, or the lesson of this course, with its type
-- and updated_at. No row when the lesson is not in the course.
SELECT c.id AS course_id, l.id AS lesson_id, l.content_type,
       coalesce(l.updated_at, c.updated_at)::timestamptz AS updated_at
FROM courses c
LEFT JOIN (lessons l JOIN units u ON u.id = l.unit_id)
       ON l.id = sqlc.narg(lesson_id)::uuid AND u.course_id = c.id
WHERE c.id = sqlc.arg(course_id)::uuid AND (sqlc.narg(lesson_id)::uuid IS NULL OR l.id IS NOT NULL);

-- name: ProposeEdit :one
-- Proposes a change to a course (lesson_id NULL) or to one of its lessons, remembering the
-- target's updated_at; when content_type is given the lesson must still be of that type. No row
-- when the target is not there (any more).
INSERT INTO suggested_edits (course_id, lesson_id, author_clerk_id, summary, payload, base_updated_at)
SELECT c.id, l.id, sqlc.arg(author_clerk_id)::text, sqlc.arg(summary)::text, sqlc.arg(payload)::jsonb,
       coalesce(l.updated_at, c.updated_at)
FROM courses c
LEFT JOIN (lessons l JOIN units u ON u.id = l.unit_id)
       ON l.id = sqlc.narg(lesson_id)::uuid AND u.course_id = c.id
WHERE c.id = sqlc.arg(course_id)::uuid
  AND (sqlc.narg(lesson_id)::uuid IS NULL OR l.id IS NOT NULL)
  AND (sqlc.narg(content_type)::text IS NULL OR l.content_type = sqlc.narg(content_type)::text)
RETURNING *;

-- name: GetSuggestedEdit :one
SELECT * FROM suggested_edits WHERE id = sqlc.arg(id);

-- name: ApproveEdit :one
-- Approves a pending edit of any kind and applies it whole (approve_suggested_edit), by the
-- course's author or an accepted reviewer, only if its target is still as the proposal saw it. No
-- row when nothing was applied.
SELECT * FROM approve_suggested_edit(sqlc.arg(id)::uuid, sqlc.arg(reviewer_clerk_id)::text,
                                     sqlc.narg(review_note)::text);

-- name: RejectEdit :one
-- Rejects a pending edit with a reason, by the course's author or an accepted reviewer; no row
-- otherwise.
UPDATE suggested_edits s
SET status = 'rejected', reviewer_clerk_id = sqlc.arg(reviewer_clerk_id)::text, reviewed_at = now(),
    review_note = sqlc.narg(review_note)::text
WHERE s.id = sqlc.arg(id)::uuid AND s.status = 'pending'
  AND course_role(s.course_id, sqlc.arg(reviewer_clerk_id)::text) IN ('author', 'reviewer')
RETURNING s.*;

-- name: GetEditReviewState :one
-- Why an approval or rejection did nothing: the edit's status, the reviewer's role, and whether
-- the target is still as the proposal saw it (its updated_at; a unit's lessons in order).
SELECT e.status, course_role(e.course_id, sqlc.arg(reviewer_clerk_id)::text)::text AS role,
       coalesce(CASE e.kind
           WHEN 'fields' THEN
               coalesce((SELECT l.updated_at = e.base_updated_at FROM lessons l WHERE l.id = e.lesson_id),
                        (SELECT c.updated_at = e.base_updated_at FROM courses c
                         WHERE c.id = e.course_id AND e.lesson_id IS NULL))
           WHEN 'quiz' THEN (SELECT q.updated_at = e.base_updated_at FROM quizzes q WHERE q.id = e.quiz_id)
           ELSE array(SELECT l.id FROM lessons l WHERE l.unit_id = e.unit_id ORDER BY l.position) = e.base_lesson_ids
       END, false)::boolean AS current
FROM suggested_edits e WHERE e.id = sqlc.arg(id)::uuid;

-- name: ListPendingEdits :many
-- A course's pending edits, newest first; keyset on (created_at, id).
SELECT * FROM suggested_edits
WHERE course_id = sqlc.arg(course_id) AND status = 'pending'
  AND (created_at, id) < (coalesce(sqlc.narg(before_created_at)::timestamptz, 'infinity'),
                          coalesce(sqlc.narg(before_id)::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg(page_size);

-- name: GetEditUnit :one
-- The unit a lesson edit of a unit targets (given, or the lesson's), its course, and its lessons in
-- order: what the proposal is checked against and remembers. No row for an unknown unit or lesson.
SELECT u.id AS unit_id, u.course_id,
       array(SELECT l.id FROM lessons l WHERE l.unit_id = u.id ORDER BY l.position)::uuid[] AS lesson_ids
FROM units u
WHERE u.id = coalesce(sqlc.narg(unit_id)::uuid, (SELECT l.unit_id FROM lessons l WHERE l.id = sqlc.narg(lesson_id)::uuid));

-- name: GetEditQuiz :one
-- The quiz a quiz edit targets, with its course: what the proposal is checked against.
SELECT q.id, q.question_type, q.question, q.options, q.correct_answer, q.updated_at, u.course_id
FROM quizzes q JOIN lessons l ON l.id = q.lesson_id JOIN units u ON u.id = l.unit_id
WHERE q.id = sqlc.arg(id)::uuid;

-- name: ProposeStructureEdit :one
-- Proposes a lesson edit of a unit (add_lesson, remove_lesson, reorder_lessons) or a quiz edit,
-- with what approval checks for staleness: the unit's lessons in order, or the quiz's updated_at.
INSERT INTO suggested_edits (course_id, kind, unit_id, quiz_id, author_clerk_id, summary, payload,
                             base_lesson_ids, base_updated_at)
VALUES (sqlc.arg(course_id)::uuid, sqlc.arg(kind)::text, sqlc.narg(unit_id)::uuid, sqlc.narg(quiz_id)::uuid,
        sqlc.arg(author_clerk_id)::text, sqlc.arg(summary)::text, sqlc.arg(payload)::jsonb,
        sqlc.narg(base_lesson_ids)::uuid[], sqlc.narg(base_updated_at)::timestamptz)
RETURNING *;

-- name: WithdrawEdit :one
-- The proposer withdraws their pending edit; no row if it is not theirs or not pending.
UPDATE suggested_edits
SET status = 'withdrawn', reviewed_at = now()
WHERE id = sqlc.arg(id)::uuid AND author_clerk_id = sqlc.arg(author_clerk_id)::text AND status = 'pending'
RETURNING *;

-- name: ListCourseEdits :many
-- A course's edits in every status (or one), newest first; keyset on (created_at, id).
SELECT * FROM suggested_edits
WHERE course_id = sqlc.arg(course_id)
  AND (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status)::text)
  AND (created_at, id) < (coalesce(sqlc.narg(before_created_at)::timestamptz, 'infinity'),
                          coalesce(sqlc.narg(before_id)::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg(page_size);
