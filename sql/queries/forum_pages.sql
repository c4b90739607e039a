-- Forum pages: the platform-wide and per-course feeds with their totals, full-text search over posts
-- and replies, the feed of a viewer's interests, view counts and a user's activity summary. One
-- statement each. Hidden posts and replies count and show only for their authors and moderators
-- (learnstore_visible); an erased author shows as 'deleted user'; deleted posts (tombstones) are left
-- out of feeds and search; only published courses' forums are in the platform-wide reads.

-- name: ListForumFeed :many
-- The live posts of every published course, newest first, with the course's title, the author's
-- name and avatar, reply, like and view counts; total: how many posts the whole feed has for the
-- acting user (on every row). Keyset: pass the last row's (created_at, id) as before_*. The page walks
-- forum_posts_live_created_idx and stops at page_size; the counts are made for its rows only.
WITH total AS (
    -- Exact without counting posts: the platform's counter (forum_platform_post_counts, 16 shards
    -- kept by triggers from the published courses' counters), visible posts, plus the hidden ones
    -- the viewer may see: a moderator all of them (learnstore_visible of a hidden post of no one's:
    -- the moderator rule), anyone else their own (forum_posts_hidden_author_idx, a few rows).
    SELECT (SELECT coalesce(sum(t.visible_posts), 0)
                   + CASE WHEN learnstore_visible('-infinity'::timestamptz, NULL) THEN coalesce(sum(t.hidden_posts), 0) ELSE 0 END
            FROM forum_platform_post_counts t)
         + (SELECT count(*) FROM forum_posts p JOIN courses c ON c.id = p.course_id
            WHERE p.author_clerk_id = learnstore_actor() AND p.hidden_at IS NOT NULL AND p.deleted_at IS NULL
              AND c.status = 'published' AND NOT learnstore_visible('-infinity'::timestamptz, NULL)) AS n
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
  AND (p.created_at, p.id) < (coalesce(sqlc.narg(before_created_at)::timestamptz, 'infinity'),
                              coalesce(sqlc.narg(before_id)::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
-- the page's bound as a sub-select: the generic plan then costs what the custom ones do, and the
-- prepared statement keeps it instead of planning every call (docs/forum-pages.md)
ORDER BY p.created_at DESC, p.id DESC
LIMIT (SELECT sqlc.arg(page_size)::integer);

-- name: ListCourseForumFeed :many
-- A course's live posts, pinned first, then newest first, as ListForumFeed's rows (total: the
-- course's posts the acting user may see, from its counter as ListForumFeed's). Keyset: pass the last
-- row's (pinned, created_at, id) as before_*.
WITH total AS (
    SELECT (SELECT coalesce(sum(n.visible_posts), 0)
                   + CASE WHEN learnstore_visible('-infinity'::timestamptz, NULL) THEN coalesce(sum(n.hidden_posts), 0) ELSE 0 END
            FROM forum_course_post_counts n WHERE n.course_id = sqlc.arg(course_id)::uuid)
         + (SELECT count(*) FROM forum_posts p
            WHERE p.author_clerk_id = learnstore_actor() AND p.hidden_at IS NOT NULL AND p.deleted_at IS NULL
              AND p.course_id = sqlc.arg(course_id)::uuid AND NOT learnstore_visible('-infinity'::timestamptz, NULL)) AS n
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
  AND ((p.pinned_at IS NOT NULL), p.created_at, p.id)
      < (coalesce(sqlc.narg(before_pinned)::boolean, true),
         coalesce(sqlc.narg(before_created_at)::timestamptz, 'infinity'),
         coalesce(sqlc.narg(before_id)::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
-- the page's bound as a sub-select: the generic plan then costs what the custom ones do, and the
-- prepared statement keeps it instead of planning every call (docs/forum-pages.md)
ORDER BY (p.pinned_at IS NOT NULL) DESC, p.created_at DESC, p.id DESC
LIMIT (SELECT sqlc.arg(page_size)::integer);

-- name: SearchForum :many
-- Posts and replies of every published course matching a web-search query (websearch_to_tsquery:
-- words, "phrases", or, -not), from their stored documents. Capped: only the newest 1,000 matches
-- are ranked (ts_rank of the stored document: a title match weighs more), best first, ties newest
-- first, so that a word in every other post costs what a rare one does. total: the matches, exact
-- up to 1,000; total_capped: there are more (the older ones are not ranked). snippet: the matched
-- text with each match in <mark></mark>, HTML-escaped first so the snippet is safe to render. Pages
-- by offset within the 1,000: a rank is no stable keyset.
WITH query AS MATERIALIZED (
    -- Materialized: no plan depends on the query's words (a cached generic plan is as good as a
    -- custom one); the branches below choose by what the GIN indexes find instead.
    SELECT websearch_to_tsquery('simple'::regconfig, sqlc.arg(query)::text) AS q
), common AS MATERIALIZED (
    -- A one-word query's matches by the column's statistics (NULL: not a common word).
    SELECT e.posts, e.replies FROM query CROSS JOIN LATERAL forum_search_common_matches(query.q) AS e (posts, replies)
), post_probe AS MATERIALIZED (
    -- How many posts match: a word the statistics put in more than 20,000 posts is common without
    -- counting it (a count's bitmap index scan would read every match's entry first); any other
    -- query is counted up to 5,001 in the GIN index (which reads no column: no heap page that the
    -- visibility map marks all-visible). CASE runs the count only when it is needed.
    SELECT CASE WHEN (SELECT posts FROM common) > 20000 THEN (SELECT posts FROM common)
                ELSE (SELECT count(*) FROM (SELECT FROM forum_posts p
                                            WHERE p.search_document @@ (SELECT q FROM query) LIMIT 5001) AS s)
           END AS n
), reply_probe AS MATERIALIZED (
    SELECT CASE WHEN (SELECT replies FROM common) > 20000 THEN (SELECT replies FROM common)
                ELSE (SELECT count(*) FROM (SELECT FROM forum_replies r
                                            WHERE r.search_document @@ (SELECT q FROM query) LIMIT 5001) AS s)
           END AS n
), post_few AS (
    -- At most 5,000 matches: all of them from the GIN index, the newest 1,001 kept.
    SELECT p.id, p.author_clerk_id, p.search_document AS document, p.created_at
    FROM forum_posts p JOIN courses c ON c.id = p.course_id
    WHERE (SELECT n FROM post_probe) <= 5000
      AND p.search_document @@ (SELECT q FROM query) AND p.deleted_at IS NULL
      AND learnstore_visible(p.hidden_at, p.author_clerk_id) AND c.status = 'published'
    ORDER BY p.created_at DESC, p.id DESC
    LIMIT 1001
), post_many AS (
    -- More: newest first along forum_posts_live_created_idx until 1,001 are found, which reads
    -- fewer rows the more there are. ts_match_vq is @@ that no plan turns into a GIN scan.
    SELECT p.id, p.author_clerk_id, p.search_document AS document, p.created_at
    FROM forum_posts p JOIN courses c ON c.id = p.course_id
    WHERE (SELECT n FROM post_probe) > 5000
      AND ts_match_vq(p.search_document, (SELECT q FROM query)) AND p.deleted_at IS NULL
      AND learnstore_visible(p.hidden_at, p.author_clerk_id) AND c.status = 'published'
    ORDER BY p.created_at DESC, p.id DESC
    LIMIT 1001
), reply_few AS (
    SELECT r.id, r.post_id, r.author_clerk_id, r.search_document AS document, r.created_at
    FROM forum_replies r JOIN forum_posts p ON p.id = r.post_id JOIN courses c ON c.id = p.course_id
    WHERE (SELECT n FROM reply_probe) <= 5000
      AND r.search_document @@ (SELECT q FROM query) AND r.deleted_at IS NULL
      AND learnstore_visible(r.hidden_at, r.author_clerk_id)
      AND p.deleted_at IS NULL AND learnstore_visible(p.hidden_at, p.author_clerk_id) AND c.status = 'published'
    ORDER BY r.created_at DESC, r.id DESC
    LIMIT 1001
), reply_many AS (
    -- Along forum_replies_live_created_idx.
    SELECT r.id, r.post_id, r.author_clerk_id, r.search_document AS document, r.created_at
    FROM forum_replies r JOIN forum_posts p ON p.id = r.post_id JOIN courses c ON c.id = p.course_id
    WHERE (SELECT n FROM reply_probe) > 5000
      AND ts_match_vq(r.search_document, (SELECT q FROM query)) AND r.deleted_at IS NULL
      AND learnstore_visible(r.hidden_at, r.author_clerk_id)
      AND p.deleted_at IS NULL AND learnstore_visible(p.hidden_at, p.author_clerk_id) AND c.status = 'published'
    ORDER BY r.created_at DESC, r.id DESC
    LIMIT 1001
), candidates AS (
    -- The newest 1,001 of both (one of each pair is empty): 1,000 to rank, and one more to tell
    -- that there are more.
    SELECT h.* FROM (
        SELECT 'post'::text AS kind, f.id, f.id AS post_id, f.author_clerk_id, f.document, f.created_at FROM post_few f
        UNION ALL
        SELECT 'post', m.id, m.id, m.author_clerk_id, m.document, m.created_at FROM post_many m
        UNION ALL
        SELECT 'reply', f.id, f.post_id, f.author_clerk_id, f.document, f.created_at FROM reply_few f
        UNION ALL
        SELECT 'reply', m.id, m.post_id, m.author_clerk_id, m.document, m.created_at FROM reply_many m
    ) AS h
    ORDER BY h.created_at DESC, h.id DESC
    LIMIT 1001
), counted AS (
    SELECT count(*) AS n FROM candidates
), ranked AS (
    SELECT c.*, ts_rank(c.document, query.q) AS rank
    FROM (SELECT * FROM candidates ORDER BY created_at DESC, id DESC LIMIT 1000) AS c CROSS JOIN query
), page AS (
    SELECT r.* FROM ranked r
    ORDER BY r.rank DESC, r.created_at DESC, r.id DESC
    -- The page's bounds as subqueries: a plan costed for the caller's page size (a custom plan:
    -- LIMIT 20) never matches the cached generic one (LIMIT $n, guessed at a tenth of the rows),
    -- so PostgreSQL would plan this statement again on every call (1.5-2 ms, more than half its
    -- time at the small scale). Unknown to both, the two cost the same and the generic one is kept.
    LIMIT (SELECT sqlc.arg(page_size)::bigint) OFFSET (SELECT sqlc.arg(skip)::bigint)
), texts AS (
    -- The page's texts only: the candidates carry what ranking needs.
    SELECT page.*, p.course_id, p.title,
           CASE WHEN page.kind = 'post' THEN p.body ELSE (SELECT r.body FROM forum_replies r WHERE r.id = page.id) END AS body
    -- One primary-key lookup per row of the page (LIMIT 1: a subquery the planner keeps as is),
    -- whatever page size the plan guessed: never a scan of every post to hash them.
    FROM page CROSS JOIN LATERAL (SELECT p.course_id, p.title, p.body FROM forum_posts p WHERE p.id = page.post_id LIMIT 1) AS p
)
-- The snippet only for the page's rows: ts_headline parses the whole text again.
SELECT t.kind, t.id, t.post_id, t.course_id, t.author_clerk_id,
       CASE WHEN t.author_clerk_id IS NULL THEN 'deleted user'
            ELSE coalesce(nullif(btrim(concat_ws(' ', u.first_name, u.last_name)), ''), t.author_clerk_id)
       END::text AS author_name,
       t.title AS post_title,
       ts_headline('simple'::regconfig,
                   replace(replace(replace(t.body, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'),
                   query.q, 'StartSel=<mark>, StopSel=</mark>, MaxWords=35, MinWords=15')::text
           AS snippet,
       t.rank::real AS rank, t.created_at,
       least(counted.n, 1000)::bigint AS total, (counted.n > 1000)::boolean AS total_capped
FROM texts t CROSS JOIN query CROSS JOIN counted
LEFT JOIN LATERAL (SELECT u.first_name, u.last_name FROM users u WHERE u.clerk_id = t.author_clerk_id LIMIT 1) AS u ON true
ORDER BY t.rank DESC, t.created_at DESC, t.id DESC;

-- name: SearchCourseForum :many
-- SearchForum in one course (published): the same rows, cap and totals. It reads the course's live
-- posts and their replies (forum_posts_course_id_idx, forum_replies_post_id_idx), whatever the
-- query: a course's forum is small next to the platform's matches of a common word.
WITH query AS MATERIALIZED (
    SELECT websearch_to_tsquery('simple'::regconfig, sqlc.arg(query)::text) AS q
), candidates AS (
    SELECT h.* FROM (
        SELECT 'post'::text AS kind, p.id, p.id AS post_id, p.author_clerk_id, p.search_document AS document,
               p.created_at
        FROM forum_posts p JOIN courses c ON c.id = p.course_id
        WHERE p.course_id = sqlc.arg(course_id)::uuid AND c.status = 'published' AND p.deleted_at IS NULL
          AND ts_match_vq(p.search_document, (SELECT q FROM query))
          AND learnstore_visible(p.hidden_at, p.author_clerk_id)
        UNION ALL
        SELECT 'reply'::text, r.id, r.post_id, r.author_clerk_id, r.search_document, r.created_at
        FROM forum_posts p JOIN courses c ON c.id = p.course_id JOIN forum_replies r ON r.post_id = p.id
        WHERE p.course_id = sqlc.arg(course_id)::uuid AND c.status = 'published' AND p.deleted_at IS NULL
          AND learnstore_visible(p.hidden_at, p.author_clerk_id)
          AND r.deleted_at IS NULL AND ts_match_vq(r.search_document, (SELECT q FROM query))
          AND learnstore_visible(r.hidden_at, r.author_clerk_id)
    ) AS h
    ORDER BY h.created_at DESC, h.id DESC
    LIMIT 1001
), counted AS (
    SELECT count(*) AS n FROM candidates
), ranked AS (
    SELECT c.*, ts_rank(c.document, query.q) AS rank
    FROM (SELECT * FROM candidates ORDER BY created_at DESC, id DESC LIMIT 1000) AS c CROSS JOIN query
), page AS (
    SELECT r.* FROM ranked r
    ORDER BY r.rank DESC, r.created_at DESC, r.id DESC
    -- The page's bounds as subqueries, as in SearchForum: so that the generic plan is kept.
    LIMIT (SELECT sqlc.arg(page_size)::bigint) OFFSET (SELECT sqlc.arg(skip)::bigint)
), texts AS (
    -- The page's texts only: the candidates carry what ranking needs.
    SELECT page.*, p.course_id, p.title,
           CASE WHEN page.kind = 'post' THEN p.body ELSE (SELECT r.body FROM forum_replies r WHERE r.id = page.id) END AS body
    FROM page CROSS JOIN LATERAL (SELECT p.course_id, p.title, p.body FROM forum_posts p WHERE p.id = page.post_id LIMIT 1) AS p
)
-- The snippet only for the page's rows: ts_headline parses the whole text again.
SELECT t.kind, t.id, t.post_id, t.course_id, t.author_clerk_id,
       CASE WHEN t.author_clerk_id IS NULL THEN 'deleted user'
            ELSE coalesce(nullif(btrim(concat_ws(' ', u.first_name, u.last_name)), ''), t.author_clerk_id)
       END::text AS author_name,
       t.title AS post_title,
       ts_headline('simple'::regconfig,
                   replace(replace(replace(t.body, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'),
                   query.q, 'StartSel=<mark>, StopSel=</mark>, MaxWords=35, MinWords=15')::text
           AS snippet,
       t.rank::real AS rank, t.created_at,
       least(counted.n, 1000)::bigint AS total, (counted.n > 1000)::boolean AS total_capped
FROM texts t CROSS JOIN query CROSS JOIN counted
LEFT JOIN LATERAL (SELECT u.first_name, u.last_name FROM users u WHERE u.clerk_id = t.author_clerk_id LIMIT 1) AS u ON true
ORDER BY t.rank DESC, t.created_at DESC, t.id DESC;

-- name: ListInterestFeed :many
-- The live posts of published courses that share a tag with a course the viewer is enrolled in or
-- favorited (their own courses' forums included), newest first, as ListForumFeed's rows without the
-- total; matched_tags: the viewer's tags the post's course has. Keyset on (created_at, id).
-- Two ways to the page, as SearchForum's: when the related courses hold at most 5,000 posts (their
-- counters say, forum_course_post_counts), each course's posts from forum_posts_course_id_idx, then
-- the newest; when they hold more, a walk newest first along forum_posts_live_created_idx that
-- keeps the related courses' posts and stops at the page, which reads fewer rows the more there
-- are. Fetching every related post and sorting them read 141,000 posts at the million scale
-- (346 ms a page; docs/scaling.md).
WITH mine AS (
    SELECT uc.course_id FROM user_courses uc WHERE uc.user_clerk_id = sqlc.arg(viewer_clerk_id)::text
    UNION
    SELECT f.course_id FROM favorites f WHERE f.user_clerk_id = sqlc.arg(viewer_clerk_id)::text
), interests AS (
    SELECT DISTINCT ct.tag_id FROM course_tags ct WHERE ct.course_id IN (SELECT course_id FROM mine)
), related AS MATERIALIZED (
    SELECT ct.course_id, array_agg(t.name ORDER BY lower(t.name), t.id) AS tags
    FROM course_tags ct JOIN tags t ON t.id = ct.tag_id
    JOIN courses c ON c.id = ct.course_id AND c.status = 'published'
    WHERE ct.tag_id IN (SELECT tag_id FROM interests)
    GROUP BY ct.course_id
), related_posts AS MATERIALIZED (
    SELECT coalesce(sum(n.visible_posts + n.hidden_posts), 0) AS n
    FROM forum_course_post_counts n WHERE n.course_id IN (SELECT r.course_id FROM related r)
), few AS (
    SELECT p.id, p.course_id, p.created_at
    FROM related r JOIN forum_posts p ON p.course_id = r.course_id
    WHERE (SELECT n FROM related_posts) <= 5000
      AND p.deleted_at IS NULL AND learnstore_visible(p.hidden_at, p.author_clerk_id)
      AND (p.created_at, p.id) < (coalesce(sqlc.narg(before_created_at)::timestamptz, 'infinity'),
                                  coalesce(sqlc.narg(before_id)::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
    ORDER BY p.created_at DESC, p.id DESC
    -- the bound as a sub-select, as the feeds' (above)
    LIMIT (SELECT sqlc.arg(page_size)::integer)
), many AS (
    SELECT p.id, p.course_id, p.created_at
    FROM forum_posts p
    WHERE (SELECT n FROM related_posts) > 5000
      AND p.deleted_at IS NULL AND learnstore_visible(p.hidden_at, p.author_clerk_id)
      -- IS TRUE: a condition the planner cannot turn into a join (it would fetch every related
      -- post by course, as `few` does, and sort them); the related courses are hashed once
      AND (p.course_id IN (SELECT r.course_id FROM related r)) IS TRUE
      AND (p.created_at, p.id) < (coalesce(sqlc.narg(before_created_at)::timestamptz, 'infinity'),
                                  coalesce(sqlc.narg(before_id)::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
    ORDER BY p.created_at DESC, p.id DESC
    LIMIT (SELECT sqlc.arg(page_size)::integer)
), page AS (
    -- One of the two is empty. LIMIT 200, the largest page_size (PageSize): a bound the planner can
    -- read, so that it joins the page's rows by their keys below rather than hashing whole tables.
    SELECT h.id, r.tags FROM (SELECT * FROM few UNION ALL SELECT * FROM many) AS h
    JOIN related r ON r.course_id = h.course_id
    LIMIT 200
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
-- replies), likes received on their live posts and replies; a reply, or a like of one, counts only
-- while its post is visible. Hidden content counts only for its author and moderators. No row for
-- an unknown user. One user's counter rows (forum_user_activity, up to 16 shards kept by triggers:
-- 99_forum_activity.sql):
-- a moderator reads the counts with every hidden thing in, the user their own, anyone else the
-- public ones plus what only their own hidden posts and replies hide (found from those few rows,
-- and only for such a viewer: a CASE runs the branch it takes).
SELECT u.clerk_id,
       (CASE WHEN v.moderator OR v.actor = u.clerk_id THEN coalesce(a.posts, 0)
             ELSE coalesce(a.posts_public, 0) END)::bigint AS posts,
       (CASE WHEN v.moderator THEN coalesce(a.replies, 0)
             WHEN v.actor = u.clerk_id THEN coalesce(a.replies_own, 0)
             WHEN v.actor IS NULL THEN coalesce(a.replies_public, 0)
             ELSE coalesce(a.replies_public, 0)
                  + (SELECT count(*) FROM forum_posts p JOIN forum_replies r ON r.post_id = p.id
                     WHERE p.author_clerk_id = v.actor AND p.hidden_at IS NOT NULL
                       AND r.author_clerk_id = u.clerk_id AND r.deleted_at IS NULL AND r.hidden_at IS NULL)
        END)::bigint AS replies,
       (CASE WHEN v.moderator THEN coalesce(a.likes_given, 0)
             WHEN v.actor = u.clerk_id THEN coalesce(a.likes_given_own, 0)
             WHEN v.actor IS NULL THEN coalesce(a.likes_given_public, 0)
             ELSE coalesce(a.likes_given_public, 0)
                  -- their likes of the viewer's hidden live posts
                  + (SELECT count(*) FROM forum_posts p JOIN forum_post_likes l ON l.post_id = p.id
                     WHERE p.author_clerk_id = v.actor AND p.hidden_at IS NOT NULL AND p.deleted_at IS NULL
                       AND l.user_clerk_id = u.clerk_id)
                  -- of the viewer's hidden live replies (on a post the viewer sees)
                  + (SELECT count(*) FROM forum_replies r JOIN forum_posts p ON p.id = r.post_id
                     JOIN forum_reply_likes l ON l.reply_id = r.id
                     WHERE r.author_clerk_id = v.actor AND r.hidden_at IS NOT NULL AND r.deleted_at IS NULL
                       AND (p.hidden_at IS NULL OR p.author_clerk_id = v.actor) AND l.user_clerk_id = u.clerk_id)
                  -- of the visible live replies on the viewer's hidden posts
                  + (SELECT count(*) FROM forum_posts p JOIN forum_replies r ON r.post_id = p.id
                     JOIN forum_reply_likes l ON l.reply_id = r.id
                     WHERE p.author_clerk_id = v.actor AND p.hidden_at IS NOT NULL
                       AND r.hidden_at IS NULL AND r.deleted_at IS NULL AND l.user_clerk_id = u.clerk_id)
        END)::bigint AS likes_given,
       (CASE WHEN v.moderator THEN coalesce(a.likes_received, 0)
             WHEN v.actor = u.clerk_id THEN coalesce(a.likes_received_own, 0)
             WHEN v.actor IS NULL THEN coalesce(a.likes_received_public, 0)
             ELSE coalesce(a.likes_received_public, 0)
                  -- the likes of their visible live replies on the viewer's hidden posts
                  + (SELECT count(*) FROM forum_posts p JOIN forum_replies r ON r.post_id = p.id
                     JOIN forum_reply_likes l ON l.reply_id = r.id
                     WHERE p.author_clerk_id = v.actor AND p.hidden_at IS NOT NULL
                       AND r.author_clerk_id = u.clerk_id AND r.deleted_at IS NULL AND r.hidden_at IS NULL)
        END)::bigint AS likes_received
FROM users u
CROSS JOIN (
    -- Once (OFFSET 0: not flattened into each CASE), and the site roles read only for an acting user:
    -- the service path sees no hidden content, and asking costs two role lookups.
    SELECT CASE WHEN a.actor IS NULL THEN false
                ELSE learnstore_visible('-infinity'::timestamptz, NULL) END AS moderator,
           a.actor
    FROM (SELECT learnstore_actor() AS actor OFFSET 0) AS a
    OFFSET 0
) AS v
CROSS JOIN LATERAL (
    -- the user's shards (up to 16), summed
    SELECT sum(s.posts)::bigint AS posts,
           sum(s.posts_public)::bigint AS posts_public,
           sum(s.replies)::bigint AS replies,
           sum(s.replies_public)::bigint AS replies_public,
           sum(s.replies_own)::bigint AS replies_own,
           sum(s.likes_given)::bigint AS likes_given,
           sum(s.likes_given_public)::bigint AS likes_given_public,
           sum(s.likes_given_own)::bigint AS likes_given_own,
           sum(s.likes_received)::bigint AS likes_received,
           sum(s.likes_received_public)::bigint AS likes_received_public,
           sum(s.likes_received_own)::bigint AS likes_received_own
    FROM forum_user_activity s WHERE s.clerk_id = u.clerk_id
) AS a
WHERE u.clerk_id = sqlc.arg(clerk_id)::text;
