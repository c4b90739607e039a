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
-- Approves a pending edit and applies it in the same statement, by the course's author or an
-- accepted reviewer: the payload's fields replace the course's (title, description,
-- learning_objectives) or the lesson's (title, content). Only if the target's updated_at is still
-- the one the proposal saw: otherwise nothing changes. No row when nothing was applied.
WITH edit AS (
    SELECT e.* FROM suggested_edits e
    WHERE e.id = sqlc.arg(id)::uuid AND e.status = 'pending'
      AND course_role(e.course_id, sqlc.arg(reviewer_clerk_id)::text) IN ('author', 'reviewer')
    FOR UPDATE
), course_change AS (
    UPDATE courses c
    SET title = coalesce(e.payload ->> 'title', c.title),
        description = coalesce(e.payload ->> 'description', c.description),
        learning_objectives = CASE WHEN e.payload -> 'learning_objectives' IS NULL THEN c.learning_objectives
            ELSE array(SELECT jsonb_array_elements_text(e.payload -> 'learning_objectives')) END
    FROM edit e
    WHERE e.lesson_id IS NULL AND c.id = e.course_id AND c.updated_at = e.base_updated_at
    RETURNING c.id
), lesson_change AS (
    UPDATE lessons l
    SET title = coalesce(e.payload ->> 'title', l.title),
        content = coalesce(e.payload -> 'content', l.content)
    FROM edit e
    WHERE l.id = e.lesson_id AND l.updated_at = e.base_updated_at
    RETURNING l.id
)
UPDATE suggested_edits s
SET status = 'approved', reviewer_clerk_id = sqlc.arg(reviewer_clerk_id)::text, reviewed_at = now(),
    review_note = sqlc.narg(review_note)::text
FROM edit e
WHERE s.id = e.id
  AND (EXISTS (SELECT FROM course_change) OR EXISTS (SELECT FROM lesson_change))
RETURNING s.*;

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
-- the target is still as the proposal saw it.
SELECT e.status, course_role(e.course_id, sqlc.arg(reviewer_clerk_id)::text)::text AS role,
       coalesce((SELECT l.updated_at = e.base_updated_at FROM lessons l WHERE l.id = e.lesson_id),
                (SELECT c.updated_at = e.base_updated_at FROM courses c
                 WHERE c.id = e.course_id AND e.lesson_id IS NULL), false)::boolean AS current
FROM suggested_edits e WHERE e.id = sqlc.arg(id)::uuid;

-- name: ListPendingEdits :many
-- A course's pending edits, newest first; keyset on (created_at, id).
SELECT * FROM suggested_edits
WHERE course_id = sqlc.arg(course_id) AND status = 'pending'
  AND (sqlc.narg(before_created_at)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(before_created_at)::timestamptz, sqlc.narg(before_id)::uuid))
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg(page_size);
