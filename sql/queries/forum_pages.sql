-- Forum pages: the platform-wide and per-course feeds with their totals, full-text search over posts
-- and replies, the feed of a viewer's interests, view counts and a user's activity summary. One
-- statement each. Hidden posts and replies count and show only for their authors and moderators
-- (learnstore_visible); an erased author shows as 'deleted user'; deleted posts (tombstones) are left
-- out of feeds and search; only published courses' forums are in the platform-wide reads.

-- name: ListForumFeed :many
-- The live posts of every published course, newest first, with the course's title, the author's
-- name and avatar, reply, like and view counts; total: how many posts the whole feed has (on every
-- row). Keyset: pass the last row's (created_at, id) as before_*. The page walks
-- forum_posts_live_created_idx and stops at page_size; the counts are made for its rows only.
WITH total AS (
    -- Every live post counted: an index-only scan of forum_posts_live_created_idx where the
    -- visibility map allows (the index carries the columns the predicate reads).
    SELECT count(*) AS n FROM forum_posts p JOIN courses c ON c.id = p.course_id
    WHERE p.deleted_at IS NULL AND c.status = 'published' AND learnstore_visible(p.hidden_at, p.author_clerk_id)
)
SELECT p.id, p.course_id, c.title AS course_title, p.author_clerk_id,
       CASE WHEN p.author_clerk_id IS NULL THEN 'deleted user'
            ELSE coalesce(nullif(btrim(concat_ws(' ', u.first_name, u.last_name)), ''), p.author_clerk_id)
       END::text AS author_name,
       u.avatar_url AS author_avatar_url,
       p.title, left(p.body, 300)::text AS excerpt, p.created_at, p.edited_at,
       (SELECT count(*) FROM forum_replies r
        WHERE r.post_id = p.id AND r.deleted_at IS NULL AND learnstore_visible(r.hidden_at, r.author_clerk_id))
           AS reply_count,
       (SELECT count(*) FROM forum_post_likes l WHERE l.post_id = p.id) AS like_count,
       (SELECT coalesce(sum(v.views), 0) FROM forum_post_view_counts v WHERE v.post_id = p.id)::bigint AS view_count,
       (p.hidden_at IS NOT NULL)::boolean AS hidden,
       (SELECT n FROM total)::bigint AS total
FROM forum_posts p JOIN courses c ON c.id = p.course_id LEFT JOIN users u ON u.clerk_id = p.author_clerk_id
WHERE p.deleted_at IS NULL AND c.status = 'published' AND learnstore_visible(p.hidden_at, p.author_clerk_id)
  AND (sqlc.narg(before_created_at)::timestamptz IS NULL
       OR (p.created_at, p.id) < (sqlc.narg(before_created_at)::timestamptz, sqlc.narg(before_id)::uuid))
ORDER BY p.created_at DESC, p.id DESC
LIMIT sqlc.arg(page_size);

-- name: ListCourseForumFeed :many
-- A course's live posts, pinned first, then newest first, as ListForumFeed's rows (total: the
-- course's posts). Keyset: pass the last row's (pinned, created_at, id) as before_*.
WITH total AS (
    SELECT count(*) AS n FROM forum_posts p
    WHERE p.course_id = sqlc.arg(course_id)::uuid AND p.deleted_at IS NULL
      AND learnstore_visible(p.hidden_at, p.author_clerk_id)
)
SELECT p.id, p.course_id, c.title AS course_title, p.author_clerk_id,
       CASE WHEN p.author_clerk_id IS NULL THEN 'deleted user'
            ELSE coalesce(nullif(btrim(concat_ws(' ', u.first_name, u.last_name)), ''), p.author_clerk_id)
       END::text AS author_name,
       u.avatar_url AS author_avatar_url,
       p.title, left(p.body, 300)::text AS excerpt, p.created_at, p.edited_at,
       (SELECT count(*) FROM forum_replies r
        WHERE r.post_id = p.id AND r.deleted_at IS NULL AND learnstore_visible(r.hidden_at, r.author_clerk_id))
           AS reply_count,
       (SELECT count(*) FROM forum_post_likes l WHERE l.post_id = p.id) AS like_count,
       (SELECT coalesce(sum(v.views), 0) FROM forum_post_view_counts v WHERE v.post_id = p.id)::bigint AS view_count,
       (p.pinned_at IS NOT NULL)::boolean AS pinned, (p.locked_at IS NOT NULL)::boolean AS locked,
       (p.hidden_at IS NOT NULL)::boolean AS hidden,
       (SELECT n FROM total)::bigint AS total
FROM forum_posts p JOIN courses c ON c.id = p.course_id LEFT JOIN users u ON u.clerk_id = p.author_clerk_id
WHERE p.course_id = sqlc.arg(course_id)::uuid AND p.deleted_at IS NULL
  AND learnstore_visible(p.hidden_at, p.author_clerk_id)
  AND (sqlc.narg(before_created_at)::timestamptz IS NULL
       OR ((p.pinned_at IS NOT NULL), p.created_at, p.id)
          < (sqlc.narg(before_pinned)::boolean, sqlc.narg(before_created_at)::timestamptz,
             sqlc.narg(before_id)::uuid))
ORDER BY (p.pinned_at IS NOT NULL) DESC, p.created_at DESC, p.id DESC
LIMIT sqlc.arg(page_size);

-- name: SearchForum :many
-- Posts and replies matching a web-search query (websearch_to_tsquery: words, "phrases", or,
-- -not) through the GIN indexes on their documents, best first (ts_rank; a title match weighs
-- more), ties newest first; in one course or (course_id NULL) every published course. snippet:
-- the matched text with each match in <mark></mark>, HTML-escaped first so the snippet is safe
-- to render. total: every match (on every row). Pages by offset: a rank is no stable keyset.
WITH query AS (
    SELECT websearch_to_tsquery('simple'::regconfig, sqlc.arg(query)::text) AS q
), hits AS (
    SELECT 'post'::text AS kind, p.id, p.id AS post_id, p.course_id, p.author_clerk_id, p.title,
           p.body, ts_rank(forum_post_document(p.title, p.body), query.q) AS rank, p.created_at
    FROM query, forum_posts p JOIN courses c ON c.id = p.course_id
    WHERE forum_post_document(p.title, p.body) @@ query.q AND p.deleted_at IS NULL AND learnstore_visible(p.hidden_at, p.author_clerk_id)
      AND c.status = 'published'
      AND (sqlc.narg(course_id)::uuid IS NULL OR p.course_id = sqlc.narg(course_id)::uuid)
    UNION ALL
    SELECT 'reply', r.id, r.post_id, p.course_id, r.author_clerk_id, p.title, r.body,
           ts_rank(to_tsvector('simple'::regconfig, r.body), query.q), r.created_at
    FROM query, forum_replies r JOIN forum_posts p ON p.id = r.post_id JOIN courses c ON c.id = p.course_id
    WHERE to_tsvector('simple'::regconfig, r.body) @@ query.q AND r.deleted_at IS NULL AND learnstore_visible(r.hidden_at, r.author_clerk_id)
      AND p.deleted_at IS NULL AND learnstore_visible(p.hidden_at, p.author_clerk_id) AND c.status = 'published'
      AND (sqlc.narg(course_id)::uuid IS NULL OR p.course_id = sqlc.narg(course_id)::uuid)
), page AS (
    SELECT h.*, count(*) OVER () AS total FROM hits h
    ORDER BY h.rank DESC, h.created_at DESC, h.id DESC
    LIMIT sqlc.arg(page_size) OFFSET sqlc.arg(skip)
)
-- The snippet only for the page's rows: ts_headline parses the whole text again.
SELECT page.kind, page.id, page.post_id, page.course_id, page.author_clerk_id,
       CASE WHEN page.author_clerk_id IS NULL THEN 'deleted user'
            ELSE coalesce(nullif(btrim(concat_ws(' ', u.first_name, u.last_name)), ''), page.author_clerk_id)
       END::text AS author_name,
       page.title AS post_title,
       ts_headline('simple'::regconfig,
                   replace(replace(replace(page.body, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'),
                   query.q, 'StartSel=<mark>, StopSel=</mark>, MaxWords=35, MinWords=15')::text
           AS snippet,
       page.rank::real AS rank, page.created_at, page.total::bigint AS total
FROM page CROSS JOIN query LEFT JOIN users u ON u.clerk_id = page.author_clerk_id
ORDER BY page.rank DESC, page.created_at DESC, page.id DESC;

-- name: ListInterestFeed :many
-- The live posts of published courses that share a tag with a course the viewer is enrolled in or
-- favorited (their own courses' forums included), newest first, as ListForumFeed's rows without the
-- total; matched_tags: the viewer's tags the post's course has. Keyset on (created_at, id).
WITH mine AS (
    SELECT uc.course_id FROM user_courses uc WHERE uc.user_clerk_id = sqlc.arg(viewer_clerk_id)::text
    UNION
    SELECT f.course_id FROM favorites f WHERE f.user_clerk_id = sqlc.arg(viewer_clerk_id)::text
), interests AS (
    SELECT DISTINCT ct.tag_id FROM course_tags ct WHERE ct.course_id IN (SELECT course_id FROM mine)
), related AS (
    SELECT ct.course_id, array_agg(t.name ORDER BY lower(t.name), t.id) AS tags
    FROM course_tags ct JOIN tags t ON t.id = ct.tag_id
    WHERE ct.tag_id IN (SELECT tag_id FROM interests)
    GROUP BY ct.course_id
), page AS (
    SELECT p.id, r.tags FROM related r
    JOIN courses c ON c.id = r.course_id AND c.status = 'published'
    JOIN forum_posts p ON p.course_id = r.course_id
    WHERE p.deleted_at IS NULL AND learnstore_visible(p.hidden_at, p.author_clerk_id)
      AND (sqlc.narg(before_created_at)::timestamptz IS NULL
           OR (p.created_at, p.id) < (sqlc.narg(before_created_at)::timestamptz, sqlc.narg(before_id)::uuid))
    ORDER BY p.created_at DESC, p.id DESC
    LIMIT sqlc.arg(page_size)
)
SELECT p.id, p.course_id, c.title AS course_title, p.author_clerk_id,
       CASE WHEN p.author_clerk_id IS NULL THEN 'deleted user'
            ELSE coalesce(nullif(btrim(concat_ws(' ', u.first_name, u.last_name)), ''), p.author_clerk_id)
       END::text AS author_name,
       u.avatar_url AS author_avatar_url,
       p.title, left(p.body, 300)::text AS excerpt, p.created_at, p.edited_at,
       (SELECT count(*) FROM forum_replies r
        WHERE r.post_id = p.id AND r.deleted_at IS NULL AND learnstore_visible(r.hidden_at, r.author_clerk_id))
           AS reply_count,
       (SELECT count(*) FROM forum_post_likes l WHERE l.post_id = p.id) AS like_count,
       (SELECT coalesce(sum(v.views), 0) FROM forum_post_view_counts v WHERE v.post_id = p.id)::bigint AS view_count,
       page.tags::text[] AS matched_tags
FROM page JOIN forum_posts p ON p.id = page.id JOIN courses c ON c.id = p.course_id
LEFT JOIN users u ON u.clerk_id = p.author_clerk_id
ORDER BY p.created_at DESC, p.id DESC;

-- name: RecordPostView :one
-- Adds one view to a post the acting user may see; views: its views after it, NULL for no such post.
-- A sharded counter (forum_post_view_counts): concurrent viewers do not queue on one row.
SELECT learnstore_record_post_view(sqlc.arg(post_id)::uuid)::bigint AS views;

-- name: GetPostViews :one
-- A post's views: the sum of its counter shards (0 before the first).
SELECT coalesce(sum(v.views), 0)::bigint AS views FROM forum_post_view_counts v WHERE v.post_id = sqlc.arg(post_id)::uuid;

-- name: GetForumActivitySummary :one
-- A user's forum activity in counts: live posts and replies written, likes given (of live posts and
-- replies), likes received on their live posts and replies. Hidden content
-- counts only for its author and moderators. No row for an unknown user.
SELECT u.clerk_id,
       (SELECT count(*) FROM forum_posts p
        WHERE p.author_clerk_id = u.clerk_id AND p.deleted_at IS NULL
          AND learnstore_visible(p.hidden_at, p.author_clerk_id)) AS posts,
       (SELECT count(*) FROM forum_replies r JOIN forum_posts p ON p.id = r.post_id
        WHERE r.author_clerk_id = u.clerk_id AND r.deleted_at IS NULL
          AND learnstore_visible(r.hidden_at, r.author_clerk_id) AND learnstore_visible(p.hidden_at, p.author_clerk_id))
           AS replies,
       ((SELECT count(*) FROM forum_post_likes l JOIN forum_posts p ON p.id = l.post_id
         WHERE l.user_clerk_id = u.clerk_id AND p.deleted_at IS NULL
           AND learnstore_visible(p.hidden_at, p.author_clerk_id))
        + (SELECT count(*) FROM forum_reply_likes l JOIN forum_replies r ON r.id = l.reply_id
           JOIN forum_posts p ON p.id = r.post_id
           WHERE l.user_clerk_id = u.clerk_id AND r.deleted_at IS NULL
             AND learnstore_visible(r.hidden_at, r.author_clerk_id)
             AND learnstore_visible(p.hidden_at, p.author_clerk_id)))::bigint AS likes_given,
       -- Per post and reply of theirs, its likes from the unique key (post_id, user_clerk_id): a
       -- join would hash every like of the platform to count a few hundred.
       ((SELECT coalesce(sum((SELECT count(*) FROM forum_post_likes l WHERE l.post_id = p.id)), 0)
         FROM forum_posts p
         WHERE p.author_clerk_id = u.clerk_id AND p.deleted_at IS NULL
           AND learnstore_visible(p.hidden_at, p.author_clerk_id))
        + (SELECT coalesce(sum((SELECT count(*) FROM forum_reply_likes l WHERE l.reply_id = r.id)), 0)
           FROM forum_replies r JOIN forum_posts p ON p.id = r.post_id
           WHERE r.author_clerk_id = u.clerk_id AND r.deleted_at IS NULL
             AND learnstore_visible(r.hidden_at, r.author_clerk_id)
             AND learnstore_visible(p.hidden_at, p.author_clerk_id)))::bigint AS likes_received
FROM users u WHERE u.clerk_id = sqlc.arg(clerk_id)::text;
