-- Audit: a course's history of changes, one entry, and reverting a field change.

-- name: ListCourseHistory :many
-- A course's changes, newest first; pass the last entry's change_number to get the next page.
-- Under as_user only its author and accepted collaborators see any (audit_log's policy).
SELECT * FROM audit_log
WHERE course_id = sqlc.arg(course_id)
  AND (sqlc.narg(before_change_number)::bigint IS NULL OR change_number < sqlc.narg(before_change_number)::bigint)
ORDER BY change_number DESC
LIMIT sqlc.arg(page_size);

-- name: GetAuditEntry :one
SELECT * FROM audit_log WHERE id = sqlc.arg(id);

-- name: RevertChange :one
-- Undoes a field change; the revert's own entry. Stale (the row changed since) raises.
SELECT * FROM audit_revert(sqlc.arg(change_id));
