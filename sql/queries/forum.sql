-- The forum: posts and nested replies, likes, a user's activity and what is trending. The
-- notifications that a write causes (mentions, replies, first likes) are written by the same statement.

-- ---- posts -------------------------------------------------------------------------------------

-- name: CreatePost :one
-- Starts a thread in a course's forum; every known user in mentions (but the author) gets a
-- 'mention' notification in the same statement.
-- returns: ForumPost
WITH post AS (
    INSERT INTO forum_posts (course_id, author_clerk_id, title, body)
    VALUES (sqlc.arg(course_id), sqlc.arg(author_clerk_id), sqlc.arg(title), sqlc.arg(body))
    RETURNING *
), mentioned AS (
    INSERT INTO notifications (user_clerk_id, type, message, source_id, source_type, metadata)
    SELECT u.clerk_id, 'mention', 'You were mentioned in "' || left(p.title, 200) || '"', p.id, 'forum_post',
           jsonb_build_object('by', p.author_clerk_id, 'course_id', p.course_id, 'post_id', p.id)
    FROM post p JOIN users u ON u.clerk_id = ANY (sqlc.arg(mentions)::text[])
    WHERE u.clerk_id <> p.author_clerk_id
)
SELECT * FROM post;

-- name: GetPost :one
SELECT * FROM forum_posts WHERE id = sqlc.arg(id);

-- name: UpdatePost :one
-- Changes the title and/or body (NULL keeps one) of a live post, by its author only; no row
-- otherwise.
UPDATE forum_posts
SET title = coalesce(sqlc.narg(title), title),
    body = coalesce(sqlc.narg(body), body),
    edited_at = now()
WHERE id = sqlc.arg(id) AND author_clerk_id = sqlc.arg(author_clerk_id) AND deleted_at IS NULL
RETURNING *;

-- name: DeletePost :one
-- Deletes a post, by its author or the course's author: a post with replies becomes a tombstone
-- (title and body replaced, deleted_at set) that keeps the thread readable; one without is
-- removed. outcome is 'tombstoned', 'deleted', or NULL when nothing was allowed.
WITH target AS (
    SELECT p.id, EXISTS (SELECT FROM forum_replies r WHERE r.post_id = p.id) AS has_replies
    FROM forum_posts p JOIN courses c ON c.id = p.course_id
    WHERE p.id = sqlc.arg(id) AND p.deleted_at IS NULL
      AND (p.author_clerk_id = sqlc.arg(actor_clerk_id) OR c.author_clerk_id = sqlc.arg(actor_clerk_id))
    FOR UPDATE OF p
), tombstoned AS (
    UPDATE forum_posts p SET title = '[deleted]', body = '[deleted]', deleted_at = now()
    FROM target t WHERE p.id = t.id AND t.has_replies
    RETURNING p.id
), deleted AS (
    DELETE FROM forum_posts p USING target t WHERE p.id = t.id AND NOT t.has_replies
    RETURNING p.id
)
SELECT coalesce((SELECT 'tombstoned' FROM tombstoned), (SELECT 'deleted' FROM deleted))::text AS outcome;

-- name: ListCoursePostsNewest :many
-- A course's threads, pinned first, then newest first, with reply and like counts; hidden posts
-- and replies only for their authors and moderators (learnstore_visible). Keyset: pass the last
-- row's (pinned, created_at, id) as before_*.
SELECT p.id, p.course_id, p.author_clerk_id,
       CASE WHEN p.author_clerk_id IS NULL THEN 'deleted user'
            ELSE coalesce(nullif(btrim(concat_ws(' ', u.first_name, u.last_name)), ''), p.author_clerk_id)
       END::text AS author_name,
       p.title, p.created_at, p.edited_at, (p.deleted_at IS NOT NULL)::boolean AS deleted,
       (SELECT count(*) FROM forum_replies r
        WHERE r.post_id = p.id AND r.deleted_at IS NULL AND learnstore_visible(r.hidden_at, r.author_clerk_id))
           AS reply_count,
       (SELECT count(*) FROM forum_post_likes l WHERE l.post_id = p.id) AS like_count,
       (p.pinned_at IS NOT NULL)::boolean AS pinned, (p.locked_at IS NOT NULL)::boolean AS locked,
       (p.hidden_at IS NOT NULL)::boolean AS hidden
FROM forum_posts p LEFT JOIN users u ON u.clerk_id = p.author_clerk_id
WHERE p.course_id = sqlc.arg(course_id) AND learnstore_visible(p.hidden_at, p.author_clerk_id)
  AND (p.pinned_at IS NOT NULL, p.created_at, p.id)
      < (coalesce(sqlc.narg(before_pinned)::boolean, true),
         coalesce(sqlc.narg(before_created_at)::timestamptz, 'infinity'),
         coalesce(sqlc.narg(before_id)::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
ORDER BY p.pinned_at IS NOT NULL DESC, p.created_at DESC, p.id DESC
LIMIT sqlc.arg(page_size);

-- name: ListCoursePostsActive :many
-- A course's live threads, pinned first, then most active: activity is the replies and likes
-- since `since`; ties newest first. Hidden posts and replies as in ListCoursePostsNewest. Keyset:
-- pass the last row's (pinned, activity, created_at, id) as before_*.
WITH scored AS (
    SELECT p.id, p.course_id, p.author_clerk_id, p.title, p.created_at, p.edited_at,
           (p.pinned_at IS NOT NULL) AS pinned,
           (SELECT count(*) FROM forum_replies r
            WHERE r.post_id = p.id AND r.deleted_at IS NULL AND learnstore_visible(r.hidden_at, r.author_clerk_id))
               AS reply_count,
           (SELECT count(*) FROM forum_post_likes l WHERE l.post_id = p.id) AS like_count,
           (SELECT count(*) FROM forum_replies r
            WHERE r.post_id = p.id AND r.created_at >= sqlc.arg(since)::timestamptz
              AND learnstore_visible(r.hidden_at, r.author_clerk_id))
           + (SELECT count(*) FROM forum_post_likes l
              WHERE l.post_id = p.id AND l.created_at >= sqlc.arg(since)::timestamptz) AS activity
    FROM forum_posts p
    WHERE p.course_id = sqlc.arg(course_id) AND p.deleted_at IS NULL
      AND learnstore_visible(p.hidden_at, p.author_clerk_id)
)
SELECT s.id, s.course_id, s.author_clerk_id,
       CASE WHEN s.author_clerk_id IS NULL THEN 'deleted user'
            ELSE coalesce(nullif(btrim(concat_ws(' ', u.first_name, u.last_name)), ''), s.author_clerk_id)
       END::text AS author_name,
       s.title, s.created_at, s.edited_at, s.reply_count, s.like_count, s.activity::bigint AS activity,
       s.pinned::boolean AS pinned
FROM scored s LEFT JOIN users u ON u.clerk_id = s.author_clerk_id
WHERE sqlc.narg(before_id)::uuid IS NULL
   OR (s.pinned, s.activity, s.created_at, s.id)
      < (sqlc.narg(before_pinned)::boolean, sqlc.narg(before_activity)::bigint,
         sqlc.narg(before_created_at)::timestamptz, sqlc.narg(before_id)::uuid)
ORDER BY s.pinned DESC, s.activity DESC, s.created_at DESC, s.id DESC
LIMIT sqlc.arg(page_size);

-- ---- replies -----------------------------------------------------------------------------------

-- name: CreateReply :one
-- Replies to a live post, or (parent_reply_id) to a reply of the same post (the foreign key
-- forum_replies_parent_reply_id_fkey refuses another post's). Notifies, in the same statement and
-- never the replier: the parent reply's author ('reply'), every known user in mentions ('mention',
-- unless already notified of the reply), and (the trigger forum_replies_notify_followers) every
-- follower of the thread, the post's author among them unless they unfollowed, each once by
-- notifications_reply_once_key; the replier then follows the thread. No row when the post is
-- unknown or deleted, or the parent reply is deleted.
-- returns: ForumReply
WITH reply AS (
    INSERT INTO forum_replies (post_id, parent_reply_id, author_clerk_id, body)
    SELECT p.id, sqlc.narg(parent_reply_id)::uuid, sqlc.arg(author_clerk_id)::text, sqlc.arg(body)::text
    FROM forum_posts p
    WHERE p.id = sqlc.arg(post_id)::uuid AND p.deleted_at IS NULL
      AND NOT EXISTS (SELECT FROM forum_replies d
                      WHERE d.id = sqlc.narg(parent_reply_id)::uuid AND d.deleted_at IS NOT NULL)
    RETURNING *
), recipients AS (
    SELECT parent.author_clerk_id AS clerk_id, 1 AS rank
    FROM reply r JOIN forum_replies parent ON parent.id = r.parent_reply_id
    UNION ALL
    SELECT u.clerk_id, 2 FROM users u WHERE u.clerk_id = ANY (sqlc.arg(mentions)::text[])
), notified AS (
    INSERT INTO notifications (user_clerk_id, type, message, source_id, source_type, metadata)
    SELECT DISTINCT ON (x.clerk_id) x.clerk_id,
           CASE x.rank WHEN 1 THEN 'reply' ELSE 'mention' END,
           CASE x.rank WHEN 1 THEN 'New reply in "' ELSE 'You were mentioned in "' END
               || left(p.title, 200) || '"',
           r.id, 'forum_reply',
           jsonb_build_object('by', r.author_clerk_id, 'course_id', p.course_id, 'post_id', p.id,
                              'reply_id', r.id)
    FROM recipients x CROSS JOIN reply r JOIN forum_posts p ON p.id = r.post_id
    WHERE x.clerk_id IS NOT NULL AND x.clerk_id <> r.author_clerk_id
    ORDER BY x.clerk_id, x.rank
    -- Once per recipient and reply (notifications_reply_once_key). No conflict target: naming one
    -- needs SELECT rights on the row, which row-level security refuses for another user's notification.
    ON CONFLICT DO NOTHING
)
SELECT * FROM reply;

-- name: GetReply :one
SELECT * FROM forum_replies WHERE id = sqlc.arg(id);

-- name: UpdateReply :one
-- Changes the body of a live reply, by its author only; no row otherwise.
UPDATE forum_replies
SET body = sqlc.arg(body), edited_at = now()
WHERE id = sqlc.arg(id) AND author_clerk_id = sqlc.arg(author_clerk_id) AND deleted_at IS NULL
RETURNING *;

-- name: DeleteReply :one
-- Deletes a reply, by its author or the course's author: one with answers becomes a tombstone
-- that keeps them; one without is removed. outcome as DeletePost's.
WITH target AS (
    SELECT r.id, EXISTS (SELECT FROM forum_replies a WHERE a.parent_reply_id = r.id) AS has_answers
    FROM forum_replies r JOIN forum_posts p ON p.id = r.post_id JOIN courses c ON c.id = p.course_id
    WHERE r.id = sqlc.arg(id) AND r.deleted_at IS NULL
      AND (r.author_clerk_id = sqlc.arg(actor_clerk_id) OR c.author_clerk_id = sqlc.arg(actor_clerk_id))
    FOR UPDATE OF r
), tombstoned AS (
    UPDATE forum_replies r SET body = '[deleted]', deleted_at = now()
    FROM target t WHERE r.id = t.id AND t.has_answers
    RETURNING r.id
), deleted AS (
    DELETE FROM forum_replies r USING target t WHERE r.id = t.id AND NOT t.has_answers
    RETURNING r.id
)
SELECT coalesce((SELECT 'tombstoned' FROM tombstoned), (SELECT 'deleted' FROM deleted))::text AS outcome;

-- name: GetThread :many
-- A whole thread: the post (depth 0), then every reply in tree order (each reply before its
-- answers, siblings oldest first), with depth, the author's name ('deleted user' once erased),
-- like counts and whether viewer_clerk_id liked each. A deleted node keeps its place (deleted,
-- body '[deleted]'); a hidden one leaves the thread with the answers under it, and a hidden post
-- has no thread, except for their authors and moderators (learnstore_visible). One recursive
-- query; no row for an unknown post.
WITH RECURSIVE tree AS (
    -- Each level carries the columns it shows, so no reply is read twice.
    SELECT r.id, r.parent_reply_id, 1 AS depth, r.author_clerk_id, r.body, r.deleted_at, r.created_at,
           r.edited_at,
           ARRAY[to_char(r.created_at AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISSUS') || r.id::text] AS path
    FROM forum_replies r
    WHERE r.post_id = sqlc.arg(post_id)::uuid AND r.parent_reply_id IS NULL
      AND learnstore_visible(r.hidden_at, r.author_clerk_id)
    UNION ALL
    SELECT r.id, r.parent_reply_id, t.depth + 1, r.author_clerk_id, r.body, r.deleted_at, r.created_at,
           r.edited_at,
           t.path || (to_char(r.created_at AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISSUS') || r.id::text)
    FROM tree t JOIN forum_replies r ON r.parent_reply_id = t.id AND r.post_id = sqlc.arg(post_id)::uuid
    WHERE learnstore_visible(r.hidden_at, r.author_clerk_id)
), nodes AS (
    -- Replies first: sqlc takes a column's nullability from the first branch (a reply has no title).
    SELECT t.id, t.parent_reply_id, t.depth, t.author_clerk_id, NULL::text AS title,
           t.body, t.deleted_at IS NOT NULL AS deleted, t.created_at, t.edited_at,
           (SELECT count(*) FROM forum_reply_likes l WHERE l.reply_id = t.id) AS like_count,
           EXISTS (SELECT FROM forum_reply_likes l
                   WHERE l.reply_id = t.id AND l.user_clerk_id = sqlc.narg(viewer_clerk_id)::text) AS liked,
           t.path
    FROM tree t
    -- A visible post's replies only: the tree of a hidden post is left out with it.
    WHERE EXISTS (SELECT FROM forum_posts v
                  WHERE v.id = sqlc.arg(post_id)::uuid AND learnstore_visible(v.hidden_at, v.author_clerk_id))
    UNION ALL
    SELECT p.id, NULL::uuid, 0, p.author_clerk_id, p.title,
           p.body, p.deleted_at IS NOT NULL,
           p.created_at, p.edited_at,
           (SELECT count(*) FROM forum_post_likes l WHERE l.post_id = p.id),
           EXISTS (SELECT FROM forum_post_likes l
                   WHERE l.post_id = p.id AND l.user_clerk_id = sqlc.narg(viewer_clerk_id)::text),
           '{}'::text[]
    FROM forum_posts p WHERE p.id = sqlc.arg(post_id)::uuid AND learnstore_visible(p.hidden_at, p.author_clerk_id)
)
SELECT n.id, n.parent_reply_id, n.depth::integer AS depth, n.author_clerk_id,
       CASE WHEN n.author_clerk_id IS NULL THEN 'deleted user'
            ELSE coalesce(nullif(btrim(concat_ws(' ', u.first_name, u.last_name)), ''), n.author_clerk_id)
       END::text AS author_name,
       n.title, n.body, n.deleted::boolean AS deleted,
       n.created_at, n.edited_at,
       n.like_count::bigint AS like_count, n.liked::boolean AS liked_by_viewer
FROM nodes n LEFT JOIN users u ON u.clerk_id = n.author_clerk_id
ORDER BY n.path COLLATE "C";

-- ---- likes -------------------------------------------------------------------------------------

-- name: LikePost :one
-- Likes a live post (idempotent: ON CONFLICT keeps one like per user). found: the post exists and
-- is live; added: this call made the like; like_count: the likes after it. The post's author is
-- notified of a user's first like only: never again after an unlike and a new like, however the
-- likes and unlikes of many connections interleave.
WITH target AS (
    SELECT p.id, p.course_id, p.author_clerk_id, p.title FROM forum_posts p
    WHERE p.id = sqlc.arg(post_id)::uuid AND p.deleted_at IS NULL
), added AS (
    INSERT INTO forum_post_likes (post_id, user_clerk_id)
    SELECT t.id, sqlc.arg(user_clerk_id)::text FROM target t
    ON CONFLICT (post_id, user_clerk_id) DO NOTHING
    RETURNING post_id
), notified AS (
    INSERT INTO notifications (user_clerk_id, type, message, source_id, source_type, metadata)
    SELECT t.author_clerk_id, 'like', 'Your post "' || left(t.title, 200) || '" was liked', t.id, 'forum_post',
           jsonb_build_object('by', sqlc.arg(user_clerk_id)::text, 'course_id', t.course_id, 'post_id', t.id)
    FROM target t JOIN added a ON a.post_id = t.id
    WHERE t.author_clerk_id <> sqlc.arg(user_clerk_id)::text
    -- Once per liker by construction: a unique key (notifications_like_once_key), not a lookup.
    -- No conflict target: naming one needs SELECT rights on the row, which row-level security
    -- refuses for a notification that is the author's, not the liker's.
    ON CONFLICT DO NOTHING
)
SELECT EXISTS (SELECT FROM target) AS found, EXISTS (SELECT FROM added) AS changed,
       ((SELECT count(*) FROM forum_post_likes l WHERE l.post_id = sqlc.arg(post_id)::uuid)
        + (SELECT count(*) FROM added))::bigint AS like_count;

-- name: UnlikePost :one
-- Removes a user's like of a post (also of a deleted one). found: the post exists; changed: there
-- was a like to remove; like_count: the likes after it.
WITH target AS (
    SELECT p.id FROM forum_posts p WHERE p.id = sqlc.arg(post_id)::uuid
), removed AS (
    DELETE FROM forum_post_likes l USING target t
    WHERE l.post_id = t.id AND l.user_clerk_id = sqlc.arg(user_clerk_id)::text
    RETURNING l.post_id
)
SELECT EXISTS (SELECT FROM target) AS found, EXISTS (SELECT FROM removed) AS changed,
       ((SELECT count(*) FROM forum_post_likes l WHERE l.post_id = sqlc.arg(post_id)::uuid)
        - (SELECT count(*) FROM removed))::bigint AS like_count;

-- name: LikeReply :one
-- LikePost for a reply; the reply's author is notified of a user's first like only.
WITH target AS (
    SELECT r.id, r.post_id, p.course_id, r.author_clerk_id, p.title
    FROM forum_replies r JOIN forum_posts p ON p.id = r.post_id
    WHERE r.id = sqlc.arg(reply_id)::uuid AND r.deleted_at IS NULL
), added AS (
    INSERT INTO forum_reply_likes (reply_id, user_clerk_id)
    SELECT t.id, sqlc.arg(user_clerk_id)::text FROM target t
    ON CONFLICT (reply_id, user_clerk_id) DO NOTHING
    RETURNING reply_id
), notified AS (
    INSERT INTO notifications (user_clerk_id, type, message, source_id, source_type, metadata)
    SELECT t.author_clerk_id, 'like', 'Your reply in "' || left(t.title, 200) || '" was liked', t.id,
           'forum_reply',
           jsonb_build_object('by', sqlc.arg(user_clerk_id)::text, 'course_id', t.course_id,
                              'post_id', t.post_id, 'reply_id', t.id)
    FROM target t JOIN added a ON a.reply_id = t.id
    WHERE t.author_clerk_id <> sqlc.arg(user_clerk_id)::text
    -- Once per liker by construction: a unique key (notifications_like_once_key), not a lookup.
    -- No conflict target: naming one needs SELECT rights on the row, which row-level security
    -- refuses for a notification that is the author's, not the liker's.
    ON CONFLICT DO NOTHING
)
SELECT EXISTS (SELECT FROM target) AS found, EXISTS (SELECT FROM added) AS changed,
       ((SELECT count(*) FROM forum_reply_likes l WHERE l.reply_id = sqlc.arg(reply_id)::uuid)
        + (SELECT count(*) FROM added))::bigint AS like_count;

-- name: UnlikeReply :one
-- UnlikePost for a reply.
WITH target AS (
    SELECT r.id FROM forum_replies r WHERE r.id = sqlc.arg(reply_id)::uuid
), removed AS (
    DELETE FROM forum_reply_likes l USING target t
    WHERE l.reply_id = t.id AND l.user_clerk_id = sqlc.arg(user_clerk_id)::text
    RETURNING l.reply_id
)
SELECT EXISTS (SELECT FROM target) AS found, EXISTS (SELECT FROM removed) AS changed,
       ((SELECT count(*) FROM forum_reply_likes l WHERE l.reply_id = sqlc.arg(reply_id)::uuid)
        - (SELECT count(*) FROM removed))::bigint AS like_count;

-- ---- activity ----------------------------------------------------------------------------------

-- name: ListUserActivity :many
-- A user's posts, replies and likes as one feed, newest first; keyset on (created_at, id).
-- kind: post, reply, post_like, reply_like; text: the post's title or the reply's first 200
-- characters. Deleted posts and replies are left out, and hidden ones (learnstore_visible).
SELECT a.kind, a.id, a.post_id, a.course_id, a.text, a.created_at
FROM (
    SELECT 'post'::text AS kind, p.id, p.id AS post_id, p.course_id, p.title AS text, p.created_at
    FROM forum_posts p
    WHERE p.author_clerk_id = sqlc.arg(clerk_id)::text AND p.deleted_at IS NULL
      AND learnstore_visible(p.hidden_at, p.author_clerk_id)
    UNION ALL
    SELECT 'reply', r.id, r.post_id, p.course_id, left(r.body, 200), r.created_at
    FROM forum_replies r JOIN forum_posts p ON p.id = r.post_id
    WHERE r.author_clerk_id = sqlc.arg(clerk_id)::text AND r.deleted_at IS NULL
      AND learnstore_visible(r.hidden_at, r.author_clerk_id) AND learnstore_visible(p.hidden_at, p.author_clerk_id)
    UNION ALL
    SELECT 'post_like', l.id, l.post_id, p.course_id, p.title, l.created_at
    FROM forum_post_likes l JOIN forum_posts p ON p.id = l.post_id
    WHERE l.user_clerk_id = sqlc.arg(clerk_id)::text AND p.deleted_at IS NULL
      AND learnstore_visible(p.hidden_at, p.author_clerk_id)
    UNION ALL
    SELECT 'reply_like', l.id, r.post_id, p.course_id, left(r.body, 200), l.created_at
    FROM forum_reply_likes l JOIN forum_replies r ON r.id = l.reply_id JOIN forum_posts p ON p.id = r.post_id
    WHERE l.user_clerk_id = sqlc.arg(clerk_id)::text AND r.deleted_at IS NULL
      AND learnstore_visible(r.hidden_at, r.author_clerk_id) AND learnstore_visible(p.hidden_at, p.author_clerk_id)
) a
WHERE sqlc.narg(before_created_at)::timestamptz IS NULL
   OR (a.created_at, a.id) < (sqlc.narg(before_created_at)::timestamptz, sqlc.narg(before_id)::uuid)
ORDER BY a.created_at DESC, a.id DESC
LIMIT sqlc.arg(page_size);

-- name: ListTrendingCourses :many
-- Published courses by forum activity since `since` (posts, replies and likes of both, each
-- counting 1; hidden content and its likes count only for those who see it), most active first;
-- ties by id. From the hourly rollup (forum_course_activity_since, 99_forum_course_activity.sql).
SELECT c.id AS course_id, c.title, a.activity::bigint AS activity
FROM forum_course_activity_since(sqlc.arg(since)::timestamptz) AS a (course_id, activity)
JOIN courses c ON c.id = a.course_id
WHERE c.status = 'published'
ORDER BY a.activity DESC, c.id
LIMIT sqlc.arg(top);

-- name: ListTrendingTags :many
-- Tags by the forum activity (as ListTrendingCourses counts it) of their published courses since
-- `since`, most active first; ties by name.
SELECT t.id AS tag_id, t.name, sum(a.activity)::bigint AS activity
FROM forum_course_activity_since(sqlc.arg(since)::timestamptz) AS a (course_id, activity)
JOIN courses c ON c.id = a.course_id AND c.status = 'published'
JOIN course_tags ct ON ct.course_id = c.id
JOIN tags t ON t.id = ct.tag_id
GROUP BY t.id, t.name
ORDER BY activity DESC, lower(t.name), t.id
LIMIT sqlc.arg(top);
