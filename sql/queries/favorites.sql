-- Favorites and recommendations: the courses a learner bookmarked, and the courses to suggest to
-- them next, from the tags of what they follow and from what learners like them took.

-- name: AddFavorite :one
-- Bookmarks a published course and returns the favorite; bookmarking again returns the same row.
-- No row for an unknown course or one that is not published.
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
  AND (sqlc.narg(before_created_at)::timestamptz IS NULL
       OR (f.created_at, f.id) < (sqlc.narg(before_created_at)::timestamptz, sqlc.narg(before_id)::uuid))
ORDER BY f.created_at DESC, f.id DESC
LIMIT sqlc.arg(page_size)::integer;

-- name: ListFavoriteCourseIds :many
-- Which of the given courses the learner bookmarked ("is it a favorite?" for a page of courses).
SELECT course_id FROM favorites
WHERE user_clerk_id = sqlc.arg(user_clerk_id) AND course_id = ANY (sqlc.arg(course_ids)::uuid[]);

-- name: ListRecommendedCourses :many
-- Published courses the learner is not enrolled in, ranked by
--   tag_score:  for each tag, how many of the learner's courses (enrolled or favorited) carry it,
--               summed over the candidate's tags;
--   co_score:   how many learners who share a course with the learner took the candidate
--               (at most peer_sample learners per shared course, so a course of 50,000 learners
--               costs what one of peer_sample does);
--   popularity: the candidate's enrolments among the latest popular_window enrolments overall,
-- score = 2 * tag_score + co_score, then popularity, then the newest. A new learner has neither
-- score: the ranking falls back to popularity, then to the newest published courses. Courses the
-- learner enrolled in or favorited are left out.
WITH mine AS (
    SELECT uc.course_id FROM user_courses uc WHERE uc.user_clerk_id = sqlc.arg(user_clerk_id)
    UNION
    SELECT f.course_id FROM favorites f WHERE f.user_clerk_id = sqlc.arg(user_clerk_id)
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
        WHERE uc.course_id = own.course_id AND uc.user_clerk_id <> sqlc.arg(user_clerk_id)
        LIMIT sqlc.arg(peer_sample)::integer
    ) peer
    WHERE own.user_clerk_id = sqlc.arg(user_clerk_id)
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
)
SELECT c.id AS course_id,
       c.title,
       c.difficulty,
       coalesce(t.tag_score, 0)::integer AS tag_score,
       coalesce(p.co_score, 0)::integer AS co_score,
       coalesce(pop.popularity, 0)::integer AS popularity,
       (2 * coalesce(t.tag_score, 0) + coalesce(p.co_score, 0))::integer AS score
FROM candidates k
JOIN courses c ON c.id = k.course_id AND c.status = 'published'
LEFT JOIN by_tags t ON t.course_id = k.course_id
LEFT JOIN by_peers p ON p.course_id = k.course_id
LEFT JOIN popular pop ON pop.course_id = k.course_id
WHERE NOT EXISTS (SELECT FROM mine WHERE mine.course_id = k.course_id)
ORDER BY score DESC, popularity DESC, c.published_at DESC NULLS LAST, c.id
LIMIT sqlc.arg(page_size)::integer;
