-- Following threads and muting notification types. A follower of a thread is told of each new reply
-- in it (forum_replies_notify_followers, once by notifications_reply_once_key, never the replier); a
-- muted type is never written for its user (notifications_skip_muted). Both are private to their user.

-- name: FollowThread :one
-- Follows a live thread the user may see (idempotent: the unique key keeps one follow). found: the
-- post exists, is live and visible; changed: this call made the follow.
WITH target AS (
    SELECT p.id FROM forum_posts p
    WHERE p.id = sqlc.arg(post_id)::uuid AND p.deleted_at IS NULL
      AND learnstore_visible(p.hidden_at, p.author_clerk_id)
), added AS (
    INSERT INTO forum_thread_follows (post_id, user_clerk_id)
    SELECT t.id, sqlc.arg(user_clerk_id)::text FROM target t
    ON CONFLICT (post_id, user_clerk_id) DO NOTHING
    RETURNING id
)
SELECT EXISTS (SELECT FROM target) AS found, EXISTS (SELECT FROM added) AS changed;

-- name: UnfollowThread :one
-- Stops following a thread (also a deleted one). found: the post exists; changed: there was one.
WITH target AS (
    SELECT p.id FROM forum_posts p WHERE p.id = sqlc.arg(post_id)::uuid
), removed AS (
    DELETE FROM forum_thread_follows f USING target t
    WHERE f.post_id = t.id AND f.user_clerk_id = sqlc.arg(user_clerk_id)::text
    RETURNING f.id
)
SELECT EXISTS (SELECT FROM target) AS found, EXISTS (SELECT FROM removed) AS changed;

-- name: ListFollowedThreads :many
-- The threads a user follows, latest followed first, with the post's course and title (hidden posts
-- only for their authors and moderators). Keyset: pass the last row's (followed_at, id) as before_*.
SELECT f.id, f.post_id, p.course_id, p.title, (p.deleted_at IS NOT NULL)::boolean AS deleted,
       f.created_at AS followed_at
FROM forum_thread_follows f JOIN forum_posts p ON p.id = f.post_id
WHERE f.user_clerk_id = sqlc.arg(user_clerk_id)::text AND learnstore_visible(p.hidden_at, p.author_clerk_id)
  AND (f.created_at, f.id) < (coalesce(sqlc.narg(before_created_at)::timestamptz, 'infinity'),
                              coalesce(sqlc.narg(before_id)::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
ORDER BY f.created_at DESC, f.id DESC
LIMIT sqlc.arg(page_size);

-- name: IsFollowingThread :one
SELECT EXISTS (SELECT FROM forum_thread_follows f
               WHERE f.post_id = sqlc.arg(post_id)::uuid AND f.user_clerk_id = sqlc.arg(user_clerk_id)::text)
    AS following;

-- name: MuteNotificationType :one
-- Mutes a notification type for a user (idempotent). changed: this call made the mute.
WITH added AS (
    INSERT INTO notification_mutes (user_clerk_id, type)
    VALUES (sqlc.arg(user_clerk_id)::text, sqlc.arg(type)::text)
    ON CONFLICT (user_clerk_id, type) DO NOTHING
    RETURNING id
)
SELECT EXISTS (SELECT FROM added) AS changed;

-- name: UnmuteNotificationType :execrows
DELETE FROM notification_mutes
WHERE user_clerk_id = sqlc.arg(user_clerk_id)::text AND type = sqlc.arg(type)::text;

-- name: ListMutes :many
SELECT m.type FROM notification_mutes m
WHERE m.user_clerk_id = sqlc.arg(user_clerk_id)::text
ORDER BY m.type;
