-- Moderation: reports, the queue, hiding, locking and pinning, suspensions, the action log.
-- A moderator's write is one call of a SECURITY DEFINER function of sql/schema/94_moderation.sql,
-- which checks the caller, makes the change and records the action in one statement.

-- name: CreateReport :one
-- Files a report of exactly one post, reply or review; no row when the reporter already has an
-- open report of it (moderation_reports_one_open_key: one open report per reporter and target).
INSERT INTO moderation_reports (reporter_clerk_id, post_id, reply_id, feedback_id, reason)
VALUES (sqlc.arg(reporter_clerk_id), sqlc.narg(post_id), sqlc.narg(reply_id), sqlc.narg(feedback_id),
        sqlc.arg(reason))
ON CONFLICT (reporter_clerk_id, post_id, reply_id, feedback_id)
    WHERE status = 'open' AND reporter_clerk_id IS NOT NULL DO NOTHING
RETURNING *;

-- name: GetOpenReport :one
-- The reporter's open report of a target.
SELECT * FROM moderation_reports
WHERE status = 'open' AND reporter_clerk_id = sqlc.arg(reporter_clerk_id)
  AND post_id IS NOT DISTINCT FROM sqlc.narg(post_id)::uuid
  AND reply_id IS NOT DISTINCT FROM sqlc.narg(reply_id)::uuid
  AND feedback_id IS NOT DISTINCT FROM sqlc.narg(feedback_id)::uuid;

-- name: ListTargetReports :many
-- Every report of one target (any status), oldest first.
SELECT * FROM moderation_reports
WHERE post_id IS NOT DISTINCT FROM sqlc.narg(post_id)::uuid
  AND reply_id IS NOT DISTINCT FROM sqlc.narg(reply_id)::uuid
  AND feedback_id IS NOT DISTINCT FROM sqlc.narg(feedback_id)::uuid
ORDER BY created_at, id;

-- name: ListModerationQueue :many
-- The queue: one row per reported target with open reports, the longest waiting first (by its
-- first open report), with the count, the reasons (oldest first), the content's author, course,
-- thread, an excerpt and whether it is hidden. Keyset on (first_reported_at, target_id). Under
-- as_user, row-level security shows a moderator every report, anyone else only their own.
WITH pending AS (
    SELECT m.post_id, m.reply_id, m.feedback_id, min(m.created_at) AS first_reported_at,
           count(*) AS report_count, array_agg(m.reason ORDER BY m.created_at, m.id) AS reasons
    FROM moderation_reports m
    WHERE m.status = 'open'
    GROUP BY m.post_id, m.reply_id, m.feedback_id
)
SELECT (CASE WHEN q.post_id IS NOT NULL THEN 'post' WHEN q.reply_id IS NOT NULL THEN 'reply' ELSE 'review' END)::text
           AS target_type,
       coalesce(q.post_id, q.reply_id, q.feedback_id)::uuid AS target_id,
       q.post_id, q.reply_id, q.feedback_id,
       q.first_reported_at::timestamptz AS first_reported_at, q.report_count::bigint AS report_count,
       q.reasons::text[] AS reasons,
       coalesce(p.author_clerk_id, r.author_clerk_id, f.user_clerk_id) AS author_clerk_id,
       coalesce(p.course_id, rp.course_id, f.course_id)::uuid AS course_id,
       coalesce(q.post_id, (SELECT x.post_id FROM forum_replies x WHERE x.id = q.reply_id)) AS thread_id,
       coalesce(p.title, left(r.body, 200), left(f.comment, 200), '')::text AS excerpt,
       (coalesce(p.hidden_at, r.hidden_at, f.hidden_at) IS NOT NULL)::boolean AS hidden
FROM pending q
LEFT JOIN forum_posts p ON p.id = q.post_id
LEFT JOIN forum_replies r ON r.id = q.reply_id
LEFT JOIN forum_posts rp ON rp.id = r.post_id
LEFT JOIN course_feedback f ON f.id = q.feedback_id
WHERE sqlc.narg(after_id)::uuid IS NULL
   OR (q.first_reported_at, coalesce(q.post_id, q.reply_id, q.feedback_id))
      > (sqlc.narg(after_reported_at)::timestamptz, sqlc.narg(after_id)::uuid)
ORDER BY q.first_reported_at, coalesce(q.post_id, q.reply_id, q.feedback_id)
LIMIT sqlc.arg(page_size);

-- name: SetHidden :many
-- Hides (hidden true) or unhides a post, reply or review: the action, or no row when it already
-- was so. Hiding resolves the target's open reports and notifies its author.
SELECT * FROM moderation_set_hidden(sqlc.arg(moderator_clerk_id)::text, sqlc.narg(post_id)::uuid,
                                    sqlc.narg(reply_id)::uuid, sqlc.narg(feedback_id)::uuid,
                                    sqlc.arg(hidden)::boolean, sqlc.arg(reason)::text);

-- name: SetThreadState :many
-- Locks, unlocks, pins or unpins a thread: the action, or no row when it already was so.
SELECT * FROM moderation_set_thread(sqlc.arg(moderator_clerk_id)::text, sqlc.arg(post_id)::uuid,
                                    sqlc.arg(action)::text, sqlc.arg(reason)::text);

-- name: SetSuspension :many
-- Suspends a user until `until`, or lifts the suspension (until NULL): the action, or no row when
-- there was no suspension to lift. The user is notified.
SELECT * FROM moderation_set_suspension(sqlc.arg(moderator_clerk_id)::text, sqlc.arg(clerk_id)::text,
                                        sqlc.narg(until)::timestamptz, sqlc.arg(reason)::text);

-- name: DismissReports :many
-- Dismisses a target's open reports, the content staying as it is: the action, or no row when
-- none was open.
SELECT * FROM moderation_dismiss(sqlc.arg(moderator_clerk_id)::text, sqlc.narg(post_id)::uuid,
                                 sqlc.narg(reply_id)::uuid, sqlc.narg(feedback_id)::uuid, sqlc.arg(reason)::text);

-- name: GetSuspension :one
-- The user's suspension in force now; no row when there is none.
SELECT * FROM user_suspensions WHERE user_clerk_id = sqlc.arg(clerk_id) AND suspended_until > now();

-- name: ListModerationActions :many
-- The action log, newest first, optionally about one user (subject_clerk_id); keyset on
-- (created_at, id).
SELECT * FROM moderation_actions
WHERE (sqlc.narg(subject_clerk_id)::text IS NULL OR subject_clerk_id = sqlc.narg(subject_clerk_id)::text)
  AND (created_at, id) < (coalesce(sqlc.narg(before_created_at)::timestamptz, 'infinity'),
                          coalesce(sqlc.narg(before_id)::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg(page_size);
