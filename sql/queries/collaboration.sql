-- Collaboration requests: a user asks to join a course open to collaboration; its author decides.
-- The rules (an open course, not its author, one open request, decisions final) are the triggers'
-- of sql/schema/95_workflows.sql, and so are the notifications and the seat an acceptance gives.

-- name: RequestCollaboration :one
-- A pending request; no row when the user already has one open on this course (two asks at once:
-- the partial unique index makes one of them wait and then do nothing).
INSERT INTO collaboration_requests (course_id, requester_clerk_id, role, message)
VALUES (sqlc.arg(course_id)::uuid, sqlc.arg(requester_clerk_id)::text, sqlc.arg(role)::text, sqlc.narg(message)::text)
ON CONFLICT (course_id, requester_clerk_id) WHERE status = 'pending' DO NOTHING
RETURNING *;

-- name: DecideCollaborationRequest :one
-- The course's author accepts or declines a pending request; no row when it is not pending or the
-- user is not the author. Two decisions at once: the row lock orders them and the second finds
-- the request no longer pending.
UPDATE collaboration_requests r
SET status = CASE WHEN sqlc.arg(accept)::boolean THEN 'accepted' ELSE 'declined' END
FROM courses c
WHERE r.id = sqlc.arg(id)::uuid AND r.status = 'pending'
  AND c.id = r.course_id AND c.author_clerk_id = sqlc.arg(author_clerk_id)::text
RETURNING r.*;

-- name: WithdrawCollaborationRequest :one
-- The requester withdraws their pending request; no row otherwise.
UPDATE collaboration_requests
SET status = 'withdrawn'
WHERE id = sqlc.arg(id)::uuid AND requester_clerk_id = sqlc.arg(requester_clerk_id)::text AND status = 'pending'
RETURNING *;

-- name: GetCollaborationRequest :one
-- A request and its course's author (to tell why a decision or withdrawal did nothing).
SELECT r.*, c.author_clerk_id AS course_author_clerk_id
FROM collaboration_requests r JOIN courses c ON c.id = r.course_id
WHERE r.id = sqlc.arg(id)::uuid;

-- name: ListCollaborationInbox :many
-- What waits on a user, newest first: invitations to them (kind 'invitation', from the collaborators
-- table), requests on courses they author ('request'), and their own open requests ('sent'); all
-- pending. other_clerk_id: who is on the other side.
SELECT i.kind, i.id, i.course_id, c.title AS course_title, i.other_clerk_id, i.role, i.message, i.created_at
FROM (
    SELECT 'invitation'::text AS kind, k.id, k.course_id, c2.author_clerk_id AS other_clerk_id, k.role,
           NULL::text AS message, k.created_at
    FROM collaborators k JOIN courses c2 ON c2.id = k.course_id
    WHERE k.user_clerk_id = sqlc.arg(clerk_id)::text AND k.status = 'pending'
    UNION ALL
    SELECT 'request', r.id, r.course_id, r.requester_clerk_id, r.role, r.message, r.created_at
    FROM collaboration_requests r JOIN courses c3 ON c3.id = r.course_id
    WHERE c3.author_clerk_id = sqlc.arg(clerk_id)::text AND r.status = 'pending'
    UNION ALL
    SELECT 'sent', r.id, r.course_id, c4.author_clerk_id, r.role, r.message, r.created_at
    FROM collaboration_requests r JOIN courses c4 ON c4.id = r.course_id
    WHERE r.requester_clerk_id = sqlc.arg(clerk_id)::text AND r.status = 'pending'
) i JOIN courses c ON c.id = i.course_id
ORDER BY i.created_at DESC, i.id DESC
LIMIT sqlc.arg(page_size);

-- name: ListCourseCollaborationRequests :many
-- A course's requests in every status, newest first; keyset on (created_at, id).
SELECT * FROM collaboration_requests
WHERE course_id = sqlc.arg(course_id)::uuid
  AND (created_at, id) < (coalesce(sqlc.narg(before_created_at)::timestamptz, 'infinity'),
                          coalesce(sqlc.narg(before_id)::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg(page_size);

-- ---- collaborators -----------------------------------------------------------------------------

-- name: InviteCollaborator :one
-- The course's author invites a user (not themself) as editor or reviewer: a pending seat, and a
-- 'system' notification to the invitee. Inviting again changes the role; a declined invitation
-- becomes pending again, an accepted seat stays accepted. No row when the course is unknown, the
-- inviter is not its author, or the invitee is the author.
-- returns: Collaborator
WITH course AS (
    SELECT c.id, c.title FROM courses c
    WHERE c.id = sqlc.arg(course_id)::uuid AND c.author_clerk_id = sqlc.arg(author_clerk_id)::text
      AND c.author_clerk_id <> sqlc.arg(user_clerk_id)::text
), seat AS (
    INSERT INTO collaborators (course_id, user_clerk_id, role, status)
    SELECT c.id, sqlc.arg(user_clerk_id)::text, sqlc.arg(role)::text, 'pending' FROM course c
    ON CONFLICT (course_id, user_clerk_id) DO UPDATE
    SET role = excluded.role,
        status = CASE WHEN collaborators.status = 'declined' THEN 'pending' ELSE collaborators.status END
    RETURNING *
), notified AS (
    INSERT INTO notifications (user_clerk_id, type, message, source_id, source_type, metadata)
    SELECT s.user_clerk_id, 'system', 'You are invited to co-author "' || left(c.title, 200) || '" as ' || s.role,
           s.course_id, 'course',
           jsonb_build_object('by', sqlc.arg(author_clerk_id)::text, 'course_id', s.course_id, 'role', s.role)
    FROM seat s CROSS JOIN course c
    WHERE s.status = 'pending'
)
SELECT * FROM seat;

-- name: RespondToInvitation :one
-- The invitee accepts or declines a pending invitation; no row if there is none pending.
UPDATE collaborators
SET status = CASE WHEN sqlc.arg(accept)::boolean THEN 'accepted' ELSE 'declined' END
WHERE course_id = sqlc.arg(course_id) AND user_clerk_id = sqlc.arg(user_clerk_id) AND status = 'pending'
RETURNING *;

-- name: SetCollaboratorRole :one
-- The course's author changes a collaborator's role; no row otherwise.
UPDATE collaborators k
SET role = sqlc.arg(role)::text
FROM courses c
WHERE c.id = k.course_id AND k.course_id = sqlc.arg(course_id)::uuid
  AND k.user_clerk_id = sqlc.arg(user_clerk_id)::text AND c.author_clerk_id = sqlc.arg(author_clerk_id)::text
RETURNING k.*;

-- name: RemoveCollaborator :one
-- The course's author removes a collaborator, or a collaborator leaves (actor = the user); no row
-- otherwise.
DELETE FROM collaborators k
USING courses c
WHERE c.id = k.course_id AND k.course_id = sqlc.arg(course_id)::uuid
  AND k.user_clerk_id = sqlc.arg(user_clerk_id)::text
  AND (c.author_clerk_id = sqlc.arg(actor_clerk_id)::text OR k.user_clerk_id = sqlc.arg(actor_clerk_id)::text)
RETURNING k.*;

-- name: ListCollaborators :many
-- A course's collaborators of every status, oldest invitation first.
SELECT * FROM collaborators WHERE course_id = sqlc.arg(course_id) ORDER BY created_at, user_clerk_id;

-- name: GetCourseRole :one
-- Whether the course exists, its author, and the user's role in it (see course_role).
SELECT c.id, c.author_clerk_id, course_role(c.id, sqlc.arg(clerk_id)::text)::text AS role
FROM courses c WHERE c.id = sqlc.arg(course_id)::uuid;
