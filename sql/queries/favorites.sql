-- Favorites and recommendations: the courses a learner bookmarked, and the courses to suggest to
-- them next, from the tags of what they follow and from what learners like them took.

-- name: AddFavorite :one
-- Bookmarks a published course and returns the favorite; bookmarking again returns the same row.
-- No row for an unknown course or one that is not published.
-- returns: Favorite
WITH added AS (
    INSERT INTO favorites (user_clerk_id, course_id)
    SELECT sqlc.arg(user_clerk_id), c.id
    FROM courses c
    WHERE c.id = sqlc.arg(course_id) AND c.status = 'published'
    ON CONFLICT (user_clerk_id, course_id) DO NOTHING
    RETURNING *
)
SELECT * FROM added
UNION ALL
SELECT f.* FROM favorites f
WHERE f.user_clerk_id = sqlc.arg(user_clerk_id) AND f.course_id = sqlc.arg(course_id)
  AND NOT EXISTS (SELECT FROM added);

-- name: GetCourseStatus :one
-- A course's status (why a favorite was refused); no row for an unknown course.
SELECT status FROM courses WHERE id = sqlc.arg(id);

-- name: RemoveFavorite :execrows
-- Removes a bookmark; 0 when there was none.
DELETE FROM favorites WHERE user_clerk_id = sqlc.arg(user_clerk_id) AND course_id = sqlc.arg(course_id);

-- name: ListFavorites :many
-- A learner's favorites with their courses, newest first, one keyset page: pass the last row's
-- (favorited_at, id) to get the next.
SELECT f.id,
       f.course_id,
       f.created_at AS favorited_at,
       c.title,
       c.description,
       c.difficulty,
       c.status,
       c.cover_image_url
FROM favorites f
JOIN courses c ON c.id = f.course_id
WHERE f.user_clerk_id = sqlc.arg(user_clerk_id)
  AND (f.created_at, f.id) < (coalesce(sqlc.narg(before_created_at)::timestamptz, 'infinity'),
                              coalesce(sqlc.narg(before_id)::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
ORDER BY f.created_at DESC, f.id DESC
LIMIT sqlc.arg(page_size)::integer;

-- name: ListFavoriteCourseIds :many
-- Which of the given courses the learner bookmarked ("is it a favorite?" for a page of courses).
SELECT course_id FROM favorites
WHERE user_clerk_id = sqlc.arg(user_clerk_id) AND course_id = ANY (sqlc.arg(course_ids)::uuid[]);

-- name: ListRecommendedCourses :many
-- Published courses for a learner (user_clerk_id) or an anonymous visitor (NULL) to take next, as
-- course cards, best first. The candidates: courses sharing a tag with the learner's courses
-- (enrolled or favorited), courses their peers took (at most peer_sample learners per shared
-- course, so a course of 50,000 learners costs what one of peer_sample does), the courses of the
-- latest popular_window enrolments, and the newest published ones; never the learner's own. Each is
-- scored on five signals, each scaled to 0..1 among the candidates, weighted:
--   0.35 tag overlap:   for each tag, how many of the learner's courses carry it, summed over the
--                       candidate's tags;
--   0.30 co-enrolment:  how many of the learner's peers took the candidate;
--   0.15 popularity:    its enrolments among the latest popular_window enrolments;
--   0.12 rating:        the Bayesian mean (17.5 + sum of ratings) / (5 + count): five phantom 3.5
--                       ratings, so a course with one 5 does not outrank one with a hundred 4.8s;
--   0.08 recency:       1 / (1 + days it was published before the newest candidate / 90).
-- A visitor (or a new learner) has no tag or peer signal: popular, well rated, recent courses come
-- first. Ties go to the newest, then the id. Every signal is read from an index per candidate
-- (ratings only for the candidates that can still reach the page); the cards (course_card_facts)
-- are built for the page only.
WITH mine AS (
    SELECT uc.course_id FROM user_courses uc WHERE uc.user_clerk_id = sqlc.narg(user_clerk_id)::text
    UNION
    SELECT f.course_id FROM favorites f WHERE f.user_clerk_id = sqlc.narg(user_clerk_id)::text
), my_tags AS (
    SELECT ct.tag_id, count(*) AS weight
    FROM mine JOIN course_tags ct ON ct.course_id = mine.course_id
    GROUP BY ct.tag_id
), by_tags AS (
    SELECT ct.course_id, sum(t.weight)::integer AS tag_score
    FROM my_tags t JOIN course_tags ct ON ct.tag_id = t.tag_id
    GROUP BY ct.course_id
), peers AS (
    SELECT DISTINCT peer.user_clerk_id
    FROM user_courses own
    CROSS JOIN LATERAL (
        SELECT uc.user_clerk_id FROM user_courses uc
        WHERE uc.course_id = own.course_id AND uc.user_clerk_id <> sqlc.narg(user_clerk_id)::text
        LIMIT sqlc.arg(peer_sample)::integer
    ) peer
    WHERE own.user_clerk_id = sqlc.narg(user_clerk_id)::text
), by_peers AS (
    SELECT uc.course_id, count(*)::integer AS co_score
    FROM peers JOIN user_courses uc ON uc.user_clerk_id = peers.user_clerk_id
    GROUP BY uc.course_id
), popular AS (
    SELECT latest.course_id, count(*)::integer AS popularity
    FROM (SELECT uc.course_id FROM user_courses uc
          ORDER BY uc.enrolled_at DESC LIMIT sqlc.arg(popular_window)::integer) latest
    GROUP BY latest.course_id
), newest AS (
    -- fills the page when too few courses have a score or recent enrolments
    SELECT c.id AS course_id FROM courses c
    WHERE c.status = 'published' AND NOT EXISTS (SELECT FROM mine WHERE mine.course_id = c.id)
    ORDER BY c.published_at DESC, c.id DESC
    LIMIT sqlc.arg(page_size)::integer
), candidates AS (
    SELECT course_id FROM by_tags
    UNION SELECT course_id FROM by_peers
    UNION SELECT course_id FROM popular
    UNION SELECT course_id FROM newest
), base AS (
    SELECT c.id AS course_id, c.published_at,
           coalesce(t.tag_score, 0) AS tag_score,
           coalesce(p.co_score, 0) AS co_score,
           coalesce(pop.popularity, 0) AS popularity
    FROM candidates k
    JOIN courses c ON c.id = k.course_id AND c.status = 'published'
    LEFT JOIN by_tags t ON t.course_id = k.course_id
    LEFT JOIN by_peers p ON p.course_id = k.course_id
    LEFT JOIN popular pop ON pop.course_id = k.course_id
    WHERE NOT EXISTS (SELECT FROM mine WHERE mine.course_id = k.course_id)
), partial AS (
    -- the signals that need no further read, and the newest candidate (recency is relative to it)
    SELECT b.*,
           0.35 * b.tag_score::float8 / greatest(max(b.tag_score) OVER (), 1)
           + 0.30 * b.co_score::float8 / greatest(max(b.co_score) OVER (), 1)
           + 0.15 * b.popularity::float8 / greatest(max(b.popularity) OVER (), 1) AS partial,
           max(b.published_at) OVER () AS newest_at
    FROM base b
), kept AS MATERIALIZED (
    -- Rating and recency add at most 0.12 + 0.08 = 0.2: a candidate more than 0.2 below the page's
    -- last partial score cannot reach the page, so only the others' ratings are read (exact pruning).
    SELECT * FROM partial
    WHERE partial >= coalesce((SELECT x.partial FROM partial x ORDER BY x.partial DESC
                               OFFSET sqlc.arg(page_size)::integer - 1 LIMIT 1), 0) - 0.2000001
), ranked AS (
    SELECT s.course_id, s.published_at, s.tag_score, s.co_score, s.popularity, r.rating,
           s.partial
           + 0.12 * (r.rating - 1) / 4
           + 0.08 / (1 + coalesce(extract(epoch FROM s.newest_at - s.published_at)::float8, 1e9) / 86400 / 90)
             AS score
    FROM kept s
    -- course_feedback_course_rating_idx: from the index alone
    CROSS JOIN LATERAL (
        SELECT (17.5::float8 + coalesce(sum(f.rating), 0)) / (5 + count(*)) AS rating FROM course_feedback f
        WHERE f.course_id = s.course_id AND learnstore_visible(f.hidden_at, f.user_clerk_id)
    ) r
), page AS (
    SELECT * FROM ranked
    ORDER BY score DESC, published_at DESC NULLS LAST, course_id
    LIMIT sqlc.arg(page_size)::integer
)
SELECT k.course_id, k.title, k.description, k.difficulty, k.status, k.published_at, k.cover_image_url,
       k.estimated_duration_minutes, k.language_code, k.author_clerk_id, k.author_name, k.author_avatar_url,
       k.lesson_count, k.lessons_duration_seconds, k.enrolment_count, k.rating_mean, k.rating_count, k.tags,
       r.tag_score::integer AS tag_score, r.co_score::integer AS co_score, r.popularity::integer AS popularity,
       r.rating::float8 AS bayesian_rating, r.score::float8 AS score
FROM page r
JOIN course_card_facts k ON k.course_id = r.course_id
ORDER BY r.score DESC, r.published_at DESC NULLS LAST, r.course_id;
