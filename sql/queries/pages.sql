-- Pages: the reads a client draws a page from, each one statement. Every list of courses returns
-- the same card (course_card_facts, sql/schema/99_course_stats.sql), joined to the page's courses only,
-- with the viewer's state when a viewer is given (NULL: none).

-- name: ListCourseCardsByIds :many
-- The cards of the given courses in the given order (a ranking the caller already has); courses
-- that do not exist, and drafts or archived courses of others than the viewer, are left out.
-- into: caller
SELECT k.course_id, k.title, k.description, k.difficulty, k.status, k.published_at, k.cover_image_url,
       k.estimated_duration_minutes, k.language_code, k.author_clerk_id, k.author_name, k.author_avatar_url,
       k.lesson_count, k.lessons_duration_seconds, k.enrolment_count, k.rating_mean, k.rating_count, k.tags,
       vc.enrolled_at AS viewer_enrolled_at, vc.progress AS viewer_progress,
       (vf.id IS NOT NULL)::boolean AS viewer_favorited
FROM unnest(sqlc.arg(course_ids)::uuid[]) WITH ORDINALITY AS i (id, ord)
JOIN course_card_facts k ON k.course_id = i.id
LEFT JOIN user_courses vc ON vc.course_id = k.course_id AND vc.user_clerk_id = sqlc.narg(viewer)::text
LEFT JOIN favorites vf ON vf.course_id = k.course_id AND vf.user_clerk_id = sqlc.narg(viewer)::text
WHERE k.status = 'published' OR k.author_clerk_id = sqlc.narg(viewer)::text
ORDER BY i.ord;

-- name: ListAuthorCourseCards :many
-- An author's courses as cards, newest first: the published ones, and every one when the viewer
-- is the author.
-- into: caller
SELECT k.course_id, k.title, k.description, k.difficulty, k.status, k.published_at, k.cover_image_url,
       k.estimated_duration_minutes, k.language_code, k.author_clerk_id, k.author_name, k.author_avatar_url,
       k.lesson_count, k.lessons_duration_seconds, k.enrolment_count, k.rating_mean, k.rating_count, k.tags,
       vc.enrolled_at AS viewer_enrolled_at, vc.progress AS viewer_progress,
       (vf.id IS NOT NULL)::boolean AS viewer_favorited
FROM course_card_facts k
LEFT JOIN user_courses vc ON vc.course_id = k.course_id AND vc.user_clerk_id = sqlc.narg(viewer)::text
LEFT JOIN favorites vf ON vf.course_id = k.course_id AND vf.user_clerk_id = sqlc.narg(viewer)::text
WHERE k.author_clerk_id = sqlc.arg(author_clerk_id)::text
  AND (k.status = 'published' OR k.author_clerk_id = sqlc.narg(viewer)::text)
ORDER BY k.created_at DESC, k.course_id DESC
LIMIT sqlc.arg(page_size)::integer;

-- name: ListFavoriteCourseCards :many
-- A learner's favorites as cards, newest bookmark first, one keyset page: pass the last row's
-- (favorited_at, course_id) as before_* for the next. The learner is the viewer.
-- into: caller
SELECT k.course_id, k.title, k.description, k.difficulty, k.status, k.published_at, k.cover_image_url,
       k.estimated_duration_minutes, k.language_code, k.author_clerk_id, k.author_name, k.author_avatar_url,
       k.lesson_count, k.lessons_duration_seconds, k.enrolment_count, k.rating_mean, k.rating_count, k.tags,
       vc.enrolled_at AS viewer_enrolled_at, vc.progress AS viewer_progress,
       true AS viewer_favorited, f.created_at AS favorited_at
FROM favorites f
JOIN course_card_facts k ON k.course_id = f.course_id
LEFT JOIN user_courses vc ON vc.course_id = f.course_id AND vc.user_clerk_id = f.user_clerk_id
WHERE f.user_clerk_id = sqlc.arg(user_clerk_id)::text
  AND (f.created_at, f.course_id) < (coalesce(sqlc.narg(before_created_at)::timestamptz, 'infinity'),
                                     coalesce(sqlc.narg(before_id)::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
ORDER BY f.created_at DESC, f.course_id DESC
LIMIT sqlc.arg(page_size)::integer;

-- name: ListEnrolledCourseCards :many
-- The learner's dashboard as cards: every course they are enrolled in, with their progress, most
-- recently enrolled first (ties by course id). The learner is the viewer.
-- into: caller
SELECT k.course_id, k.title, k.description, k.difficulty, k.status, k.published_at, k.cover_image_url,
       k.estimated_duration_minutes, k.language_code, k.author_clerk_id, k.author_name, k.author_avatar_url,
       k.lesson_count, k.lessons_duration_seconds, k.enrolment_count, k.rating_mean, k.rating_count, k.tags,
       uc.enrolled_at AS viewer_enrolled_at, uc.progress AS viewer_progress,
       (vf.id IS NOT NULL)::boolean AS viewer_favorited, uc.completed_at
FROM user_courses uc
JOIN course_card_facts k ON k.course_id = uc.course_id
LEFT JOIN favorites vf ON vf.course_id = uc.course_id AND vf.user_clerk_id = uc.user_clerk_id
WHERE uc.user_clerk_id = sqlc.arg(user_clerk_id)::text
ORDER BY uc.enrolled_at DESC, uc.course_id DESC
LIMIT sqlc.arg(page_size)::integer;

-- name: ListTrendingCourseCards :many
-- Published courses as cards by forum activity since `since` (posts, replies and the likes of
-- both, each counting 1, as ListTrendingCourses counts it), most active first; ties by id. The
-- activity is forum_course_activity_since's (the hourly rollup, 99_forum_course_activity.sql).
-- into: caller
WITH ranked AS (
    SELECT a.course_id, a.activity::bigint AS activity
    FROM forum_course_activity_since(sqlc.arg(since)::timestamptz) AS a (course_id, activity)
    JOIN courses c ON c.id = a.course_id
    WHERE c.status = 'published'
    ORDER BY a.activity DESC, a.course_id
    LIMIT sqlc.arg(page_size)::integer
)
SELECT k.course_id, k.title, k.description, k.difficulty, k.status, k.published_at, k.cover_image_url,
       k.estimated_duration_minutes, k.language_code, k.author_clerk_id, k.author_name, k.author_avatar_url,
       k.lesson_count, k.lessons_duration_seconds, k.enrolment_count, k.rating_mean, k.rating_count, k.tags,
       vc.enrolled_at AS viewer_enrolled_at, vc.progress AS viewer_progress,
       (vf.id IS NOT NULL)::boolean AS viewer_favorited, t.activity
FROM ranked t
JOIN course_card_facts k ON k.course_id = t.course_id
LEFT JOIN user_courses vc ON vc.course_id = t.course_id AND vc.user_clerk_id = sqlc.narg(viewer)::text
LEFT JOIN favorites vf ON vf.course_id = t.course_id AND vf.user_clerk_id = sqlc.narg(viewer)::text
ORDER BY t.activity DESC, t.course_id;

-- name: GetCoursePage :one
-- Everything a course page draws, as one row: the card, the description and objectives, the
-- accepted collaborators with their names, the units with their lessons (title, type, duration),
-- the rating histogram, the top reviews (most upvoted, then newest) with their reviewers' names
-- and avatars, and the viewer's state: enrolment and progress, the next lesson to take, favorite,
-- and role on the course ('author', a collaborator's role, or NULL). No row for an unknown course,
-- or a course that is not published and the viewer neither authors nor co-edits.
SELECT k.course_id, k.title, k.description, k.difficulty, k.status, k.published_at, k.cover_image_url,
       k.estimated_duration_minutes, k.language_code, k.author_clerk_id, k.author_name, k.author_avatar_url,
       k.lesson_count, k.lessons_duration_seconds, k.enrolment_count, k.rating_mean, k.rating_count, k.tags,
       c.learning_objectives,
       c.open_to_collaboration,
       -- how many ratings gave 1, 2, 3, 4 and 5 stars (the card's, from the course's summary)
       k.rating_histogram AS histogram,
       coalesce((
           SELECT json_agg(json_build_object(
                      'clerk_id', u.clerk_id,
                      'name', coalesce(nullif(btrim(concat_ws(' ', u.first_name, u.last_name)), ''), u.clerk_id),
                      'avatar_url', u.avatar_url,
                      'role', co.role)
                  ORDER BY co.created_at, u.clerk_id)
           FROM collaborators co JOIN users u ON u.clerk_id = co.user_clerk_id
           WHERE co.course_id = c.id AND co.status = 'accepted'), '[]'::json)::text AS collaborators,
       coalesce((
           SELECT json_agg(json_build_object(
                      'id', un.id,
                      'title', un.title,
                      'position', un.position,
                      'lessons', coalesce((
                          SELECT json_agg(json_build_object(
                                     'id', l.id,
                                     'title', l.title,
                                     'content_type', l.content_type,
                                     'duration_seconds', l.duration_seconds,
                                     'position', l.position,
                                     'viewer_status', p.status)
                                 ORDER BY l.position)
                          FROM lessons l
                          LEFT JOIN user_progress p
                              ON p.lesson_id = l.id AND p.user_clerk_id = sqlc.narg(viewer)::text
                          WHERE l.unit_id = un.id), '[]'::json))
                  ORDER BY un.position)
           FROM units un WHERE un.course_id = c.id), '[]'::json)::text AS units,
       coalesce((
           SELECT json_agg(json_build_object(
                      'id', r.id,
                      'rating', r.rating,
                      'comment', r.comment,
                      'created_at', r.created_at,
                      'reviewer_clerk_id', r.user_clerk_id,
                      'reviewer_name', CASE WHEN r.user_clerk_id IS NULL THEN 'deleted user'
                          ELSE coalesce(nullif(btrim(concat_ws(' ', u.first_name, u.last_name)), ''),
                                        r.user_clerk_id) END,
                      'reviewer_avatar_url', u.avatar_url,
                      'upvotes', r.upvotes)
                  ORDER BY r.upvotes DESC, r.created_at DESC, r.id)
           -- feedback_upvote_counts_course_top_idx, walked in order: the first visible reviews are
           -- the top ones, whatever the course's number of reviews and upvotes
           FROM (SELECT f.id, f.rating, f.comment, f.created_at, f.user_clerk_id, n.upvotes
                 FROM feedback_upvote_counts n JOIN course_feedback f ON f.id = n.feedback_id
                 WHERE n.course_id = c.id AND learnstore_visible(f.hidden_at, f.user_clerk_id)
                 ORDER BY n.upvotes DESC, n.feedback_created_at DESC, n.feedback_id
                 LIMIT sqlc.arg(top_reviews)::integer) r
           LEFT JOIN users u ON u.clerk_id = r.user_clerk_id), '[]'::json)::text AS top_reviews,
       vc.enrolled_at AS viewer_enrolled_at,
       vc.progress AS viewer_progress,
       vc.completed_at AS viewer_completed_at,
       (vf.id IS NOT NULL)::boolean AS viewer_favorited,
       CASE WHEN c.author_clerk_id = sqlc.narg(viewer)::text THEN 'author' ELSE vco.role END AS viewer_role,
       nl.id AS next_lesson_id,
       nl.title AS next_lesson_title
FROM courses c
JOIN course_card_facts k ON k.course_id = c.id
LEFT JOIN user_courses vc ON vc.course_id = c.id AND vc.user_clerk_id = sqlc.narg(viewer)::text
LEFT JOIN favorites vf ON vf.course_id = c.id AND vf.user_clerk_id = sqlc.narg(viewer)::text
LEFT JOIN collaborators vco
    ON vco.course_id = c.id AND vco.user_clerk_id = sqlc.narg(viewer)::text AND vco.status = 'accepted'
-- The next lesson: the first, in course order, that an enrolled viewer has not completed.
LEFT JOIN LATERAL (
    SELECT l.id, l.title
    FROM units un JOIN lessons l ON l.unit_id = un.id
    WHERE un.course_id = c.id AND vc.id IS NOT NULL
      AND NOT EXISTS (SELECT FROM user_progress done
                      WHERE done.lesson_id = l.id AND done.user_clerk_id = vc.user_clerk_id
                        AND done.status = 'completed')
    ORDER BY un.position, l.position
    LIMIT 1
) nl ON true
WHERE c.id = sqlc.arg(course_id)::uuid
  AND (c.status = 'published' OR c.author_clerk_id = sqlc.narg(viewer)::text OR vco.id IS NOT NULL);

-- name: SearchUsers :many
-- Users whose full name, last name or email starts with a prefix, whatever its case: those whose
-- full name matches first, then those whose last name does, then those whose email does, each by
-- that key, then clerk id; a user once, at their best match. lower_bound is the lowercased prefix
-- and upper_bound the first string past every string that starts with it, both in byte order as
-- the three prefix indexes of sql/schema/95_pages.sql sort, so that each branch reads one range
-- of its index, in order, and stops after page_size rows. The email is matched but never
-- returned: matched_email says only that it matched.
-- into: caller
WITH hits AS (
    (SELECT u.clerk_id, 1 AS rank,
            lower(coalesce(u.first_name, '') || ' ' || coalesce(u.last_name, '')) COLLATE "C" AS sort_key
     FROM users u
     WHERE lower(coalesce(u.first_name, '') || ' ' || coalesce(u.last_name, '')) COLLATE "C"
           >= sqlc.arg(lower_bound)::text
       AND lower(coalesce(u.first_name, '') || ' ' || coalesce(u.last_name, '')) COLLATE "C"
           < sqlc.arg(upper_bound)::text
     ORDER BY 3, 1
     LIMIT sqlc.arg(page_size)::integer)
    UNION ALL
    (SELECT u.clerk_id, 2, lower(u.last_name) COLLATE "C"
     FROM users u
     WHERE lower(u.last_name) COLLATE "C" >= sqlc.arg(lower_bound)::text
       AND lower(u.last_name) COLLATE "C" < sqlc.arg(upper_bound)::text
     ORDER BY 3, 1
     LIMIT sqlc.arg(page_size)::integer)
    UNION ALL
    (SELECT u.clerk_id, 3, lower(u.email) COLLATE "C"
     FROM users u
     WHERE lower(u.email) COLLATE "C" >= sqlc.arg(lower_bound)::text
       AND lower(u.email) COLLATE "C" < sqlc.arg(upper_bound)::text
     ORDER BY 3, 1
     LIMIT sqlc.arg(page_size)::integer)
), best AS (
    SELECT DISTINCT ON (h.clerk_id) h.clerk_id, h.rank, h.sort_key
    FROM hits h
    ORDER BY h.clerk_id, h.rank
)
SELECT u.clerk_id,
       coalesce(nullif(btrim(concat_ws(' ', u.first_name, u.last_name)), ''), u.clerk_id) AS name,
       u.avatar_url,
       (lower(u.email) COLLATE "C" >= sqlc.arg(lower_bound)::text
        AND lower(u.email) COLLATE "C" < sqlc.arg(upper_bound)::text) IS TRUE AS matched_email
FROM best b
JOIN users u ON u.clerk_id = b.clerk_id
ORDER BY b.rank, b.sort_key, b.clerk_id
LIMIT sqlc.arg(page_size)::integer;

-- name: ListLearnerLessonStatuses :many
-- A learner's lesson statuses across all their courses, latest change first, one keyset page:
-- pass the last row's (updated_at, id) as before_* for the next. Served in order by
-- user_progress_user_updated_idx, so a page stops after page_size rows however many there are.
SELECT p.id,
       p.lesson_id,
       l.title AS lesson_title,
       u.course_id,
       c.title AS course_title,
       p.status,
       p.started_at,
       p.completed_at,
       p.updated_at
FROM user_progress p
JOIN lessons l ON l.id = p.lesson_id
JOIN units u ON u.id = l.unit_id
JOIN courses c ON c.id = u.course_id
WHERE p.user_clerk_id = sqlc.arg(user_clerk_id)::text
  AND (sqlc.narg(before_updated_at)::timestamptz IS NULL
       OR (p.updated_at, p.id) < (sqlc.narg(before_updated_at)::timestamptz, sqlc.narg(before_id)::uuid))
ORDER BY p.updated_at DESC, p.id DESC
LIMIT sqlc.arg(page_size)::integer;

-- name: GetUserBelongings :one
-- What a user owns, as one row of JSON arrays, each the latest `per_section` of its kind, newest
-- first: likes (of posts and replies, with the post and course), reviews (with upvotes), suggested
-- edits in any status, goals open and completed, collaboration invitations in any status with the
-- inviting author, and the courses the user co-edits (accepted seats). Each section reads its
-- table through the index on the user's column. No row for an unknown user.
SELECT u.clerk_id,
       coalesce((
           SELECT json_agg(x ORDER BY x.liked_at DESC, x.id DESC)
           FROM (
               (SELECT l.id, 'post' AS kind, l.post_id, NULL::uuid AS reply_id, p.course_id,
                       c.title AS course_title, p.title AS text, l.created_at AS liked_at
                FROM forum_post_likes l
                JOIN forum_posts p ON p.id = l.post_id JOIN courses c ON c.id = p.course_id
                WHERE l.user_clerk_id = u.clerk_id AND p.deleted_at IS NULL
                  AND learnstore_visible(p.hidden_at, p.author_clerk_id)
                ORDER BY l.created_at DESC, l.id DESC LIMIT sqlc.arg(per_section)::integer)
               UNION ALL
               (SELECT l.id, 'reply', r.post_id, r.id, p.course_id, c.title, left(r.body, 200), l.created_at
                FROM forum_reply_likes l
                JOIN forum_replies r ON r.id = l.reply_id JOIN forum_posts p ON p.id = r.post_id
                JOIN courses c ON c.id = p.course_id
                WHERE l.user_clerk_id = u.clerk_id AND r.deleted_at IS NULL
                  AND learnstore_visible(r.hidden_at, r.author_clerk_id)
                  AND learnstore_visible(p.hidden_at, p.author_clerk_id)
                ORDER BY l.created_at DESC, l.id DESC LIMIT sqlc.arg(per_section)::integer)
               ORDER BY 8 DESC, 1 DESC
               LIMIT sqlc.arg(per_section)::integer
           ) x), '[]'::json)::text AS likes,
       coalesce((
           SELECT json_agg(x ORDER BY x.created_at DESC, x.id DESC)
           FROM (SELECT f.id, f.course_id, c.title AS course_title, f.rating, f.comment, f.created_at,
                        coalesce(n.upvotes, 0) AS upvotes
                 FROM course_feedback f JOIN courses c ON c.id = f.course_id
                 LEFT JOIN feedback_upvote_counts n ON n.feedback_id = f.id
                 WHERE f.user_clerk_id = u.clerk_id AND learnstore_visible(f.hidden_at, f.user_clerk_id)
                 ORDER BY f.created_at DESC, f.id DESC LIMIT sqlc.arg(per_section)::integer) x), '[]'::json)::text
           AS reviews,
       coalesce((
           SELECT json_agg(x ORDER BY x.created_at DESC, x.id DESC)
           FROM (SELECT e.id, e.course_id, c.title AS course_title, e.lesson_id, e.summary, e.status,
                        e.created_at, e.reviewed_at, e.review_note
                 FROM suggested_edits e JOIN courses c ON c.id = e.course_id
                 WHERE e.author_clerk_id = u.clerk_id
                 ORDER BY e.created_at DESC, e.id DESC LIMIT sqlc.arg(per_section)::integer) x), '[]'::json)::text
           AS suggested_edits,
       coalesce((
           SELECT json_agg(x ORDER BY x.completed_at IS NOT NULL, x.created_at DESC, x.id DESC)
           FROM (SELECT g.id, g.title, g.description, g.target_date, g.progress, g.completed_at, g.created_at
                 FROM learning_goals g
                 WHERE g.user_clerk_id = u.clerk_id
                 ORDER BY g.created_at DESC, g.id DESC LIMIT sqlc.arg(per_section)::integer) x), '[]'::json)::text
           AS goals,
       coalesce((
           SELECT json_agg(x ORDER BY x.invited_at DESC, x.course_id)
           FROM (SELECT co.course_id, c.title AS course_title, co.role, co.status, co.created_at AS invited_at,
                        c.author_clerk_id,
                        CASE WHEN c.author_clerk_id IS NULL THEN 'deleted user'
                             ELSE coalesce(nullif(btrim(concat_ws(' ', a.first_name, a.last_name)), ''),
                                           c.author_clerk_id) END AS author_name
                 FROM collaborators co JOIN courses c ON c.id = co.course_id
                 LEFT JOIN users a ON a.clerk_id = c.author_clerk_id
                 WHERE co.user_clerk_id = u.clerk_id
                 ORDER BY co.created_at DESC, co.course_id LIMIT sqlc.arg(per_section)::integer) x), '[]'::json)::text
           AS invitations
FROM users u
WHERE u.clerk_id = sqlc.arg(clerk_id)::text;

-- name: GetCourseRoster :one
-- One page of a course's roster, for its author or an accepted collaborator (viewer): allowed is
-- false, and the page empty, for anyone else or an unknown course. total: the course's learners.
-- entries: a JSON array of learners with their progress, enrolment, completion, last activity and
-- quiz results in this course (quizzes answered right at least once, of the course's quizzes),
-- sorted by sort_by: 'progress' (highest first) or 'last_activity' (latest first), each read in
-- index order from the cursor on; ties by clerk id. Keyset: pass the last entry's sort key
-- (after_progress or after_at) and after_clerk_id. The order by name is GetCourseRosterByName: with
-- its branch here, the generic plan costs the name's sort whatever the order asked, so the
-- prepared statement was planned anew on every call (a millisecond, more than it runs).
WITH allowed AS (
    SELECT EXISTS (
        SELECT FROM courses c
        WHERE c.id = sqlc.arg(course_id)::uuid
          AND (c.author_clerk_id = sqlc.arg(viewer)::text
               OR EXISTS (SELECT FROM collaborators co
                          WHERE co.course_id = c.id AND co.user_clerk_id = sqlc.arg(viewer)::text
                            AND co.status = 'accepted'))) AS ok
), picked AS (
    -- One branch runs, the one of sort_by, and only when allowed: each branch is the inner side of
    -- a join with a row that exists only then, so the others are never started (as pseudo-constant
    -- filters, a custom plan could still start parallel workers for a branch that returns nothing).
    SELECT r.* FROM allowed a CROSS JOIN LATERAL (
        SELECT e.user_clerk_id, e.progress, e.enrolled_at, e.completed_at, e.last_activity_at
        FROM course_roster_entries e
        WHERE e.course_id = sqlc.arg(course_id)::uuid
          -- the keyset as one row comparison, the first page past the highest progress: an index
          -- condition in every plan (docs/queries.md)
          AND (e.progress, e.user_clerk_id)
              < (coalesce(sqlc.narg(after_progress)::integer, 2147483647), coalesce(sqlc.narg(after_clerk_id)::text, ''))
        ORDER BY e.progress DESC, e.user_clerk_id DESC
        LIMIT sqlc.arg(page_size)::integer) r
    WHERE a.ok AND sqlc.arg(sort_by)::text = 'progress'
    UNION ALL
    SELECT r.* FROM allowed a CROSS JOIN LATERAL (
        SELECT e.user_clerk_id, e.progress, e.enrolled_at, e.completed_at, e.last_activity_at
        FROM course_roster_entries e
        WHERE e.course_id = sqlc.arg(course_id)::uuid
          AND (e.last_activity_at, e.user_clerk_id)
              < (coalesce(sqlc.narg(after_at)::timestamptz, 'infinity'), coalesce(sqlc.narg(after_clerk_id)::text, ''))
        ORDER BY e.last_activity_at DESC, e.user_clerk_id DESC
        LIMIT sqlc.arg(page_size)::integer) r
    WHERE a.ok AND sqlc.arg(sort_by)::text = 'last_activity'
), quizzes AS (
    SELECT q.id FROM units un JOIN lessons l ON l.unit_id = un.id JOIN quizzes q ON q.lesson_id = l.id
    WHERE un.course_id = sqlc.arg(course_id)::uuid AND (SELECT ok FROM allowed)
)
SELECT (SELECT ok FROM allowed) AS allowed,
       CASE WHEN (SELECT ok FROM allowed)
            -- the course's summary (course_stats: up to 16 rows, whatever its audience), which its
            -- team may read under as_user
            THEN (SELECT coalesce(sum(s.enrolments), 0) FROM course_stats s
                  WHERE s.course_id = sqlc.arg(course_id)::uuid)
            ELSE 0 END::integer AS total,
       coalesce((
           SELECT json_agg(json_build_object(
                      'clerk_id', p.user_clerk_id,
                      'name', coalesce(nullif(btrim(concat_ws(' ', u.first_name, u.last_name)), ''), u.clerk_id),
                      'avatar_url', u.avatar_url,
                      'progress', p.progress,
                      'enrolled_at', p.enrolled_at,
                      'completed_at', p.completed_at,
                      'last_activity_at', p.last_activity_at,
                      'quizzes_passed', (SELECT count(DISTINCT a.quiz_id) FROM quiz_attempts a
                                         WHERE a.user_clerk_id = p.user_clerk_id AND a.is_correct
                                           AND a.quiz_id IN (SELECT id FROM quizzes)),
                      'quizzes_attempted', (SELECT count(DISTINCT a.quiz_id) FROM quiz_attempts a
                                            WHERE a.user_clerk_id = p.user_clerk_id
                                              AND a.quiz_id IN (SELECT id FROM quizzes)),
                      'quiz_count', (SELECT count(*) FROM quizzes),
                      'name_key', lower(coalesce(nullif(btrim(concat_ws(' ', u.first_name, u.last_name)), ''),
                                                u.clerk_id)))
                  ORDER BY CASE sqlc.arg(sort_by)::text WHEN 'progress' THEN -p.progress ELSE 0 END,
                           CASE sqlc.arg(sort_by)::text WHEN 'last_activity' THEN p.last_activity_at END DESC,
                           p.user_clerk_id DESC)
           FROM picked p JOIN users u ON u.clerk_id = p.user_clerk_id), '[]'::json)::text AS entries;

-- name: GetCourseRosterByName :one
-- GetCourseRoster's page sorted by name (A-Z; ties by clerk id), from the cursor's after_name and
-- after_clerk_id on: a walk of course_roster_names_course_name_idx (each learner's name key, kept
-- by triggers: 99_course_roster_names.sql) from the keyset, which stops after the page.
-- returns: GetCourseRosterRow
WITH allowed AS (
    SELECT EXISTS (
        SELECT FROM courses c
        WHERE c.id = sqlc.arg(course_id)::uuid
          AND (c.author_clerk_id = sqlc.arg(viewer)::text
               OR EXISTS (SELECT FROM collaborators co
                          WHERE co.course_id = c.id AND co.user_clerk_id = sqlc.arg(viewer)::text
                            AND co.status = 'accepted'))) AS ok
), picked AS (
    SELECT r.* FROM allowed a CROSS JOIN LATERAL (
        SELECT e.user_clerk_id, e.progress, e.enrolled_at, e.completed_at, e.last_activity_at, e.name_key
        FROM course_roster_by_name e
        WHERE e.course_id = sqlc.arg(course_id)::uuid
          -- the first page from '' (no name key is empty: a blank name falls back to the clerk id)
          AND (e.name_key, e.user_clerk_id)
              > (coalesce(sqlc.narg(after_name)::text, ''), coalesce(sqlc.narg(after_clerk_id)::text, ''))
        ORDER BY e.name_key, e.user_clerk_id
        LIMIT sqlc.arg(page_size)::integer) r
    WHERE a.ok
), quizzes AS (
    SELECT q.id FROM units un JOIN lessons l ON l.unit_id = un.id JOIN quizzes q ON q.lesson_id = l.id
    WHERE un.course_id = sqlc.arg(course_id)::uuid AND (SELECT ok FROM allowed)
)
SELECT (SELECT ok FROM allowed) AS allowed,
       CASE WHEN (SELECT ok FROM allowed)
            -- the course's summary (course_stats: up to 16 rows, whatever its audience), which its
            -- team may read under as_user
            THEN (SELECT coalesce(sum(s.enrolments), 0) FROM course_stats s
                  WHERE s.course_id = sqlc.arg(course_id)::uuid)
            ELSE 0 END::integer AS total,
       coalesce((
           SELECT json_agg(json_build_object(
                      'clerk_id', p.user_clerk_id,
                      'name', coalesce(nullif(btrim(concat_ws(' ', u.first_name, u.last_name)), ''), u.clerk_id),
                      'avatar_url', u.avatar_url,
                      'progress', p.progress,
                      'enrolled_at', p.enrolled_at,
                      'completed_at', p.completed_at,
                      'last_activity_at', p.last_activity_at,
                      'quizzes_passed', (SELECT count(DISTINCT a.quiz_id) FROM quiz_attempts a
                                         WHERE a.user_clerk_id = p.user_clerk_id AND a.is_correct
                                           AND a.quiz_id IN (SELECT id FROM quizzes)),
                      'quizzes_attempted', (SELECT count(DISTINCT a.quiz_id) FROM quiz_attempts a
                                            WHERE a.user_clerk_id = p.user_clerk_id
                                              AND a.quiz_id IN (SELECT id FROM quizzes)),
                      'quiz_count', (SELECT count(*) FROM quizzes),
                      -- the stored key the page walked (the cursor's after_name)
                      'name_key', p.name_key)
                  ORDER BY p.name_key, p.user_clerk_id)
           FROM picked p JOIN users u ON u.clerk_id = p.user_clerk_id), '[]'::json)::text AS entries;

-- name: ExportCourseRoster :many
-- A course's whole roster for its author or an accepted collaborator (viewer), by name, as
-- export_roster streams it through COPY (no rows for anyone else). Each learner's name is a
-- lookup by clerk id (OFFSET 0 keeps it one: joined, the planner reads the whole users table).
SELECT r.user_clerk_id AS clerk_id,
       n.name,
       r.progress,
       r.enrolled_at,
       r.completed_at,
       r.last_activity_at
FROM course_roster_entries r
CROSS JOIN LATERAL (
    SELECT coalesce(nullif(btrim(concat_ws(' ', u.first_name, u.last_name)), ''), u.clerk_id) AS name
    FROM users u WHERE u.clerk_id = r.user_clerk_id OFFSET 0) n
WHERE r.course_id = sqlc.arg(course_id)::uuid
  AND EXISTS (SELECT FROM courses c
              WHERE c.id = r.course_id
                AND (c.author_clerk_id = sqlc.arg(viewer)::text
                     OR EXISTS (SELECT FROM collaborators co
                                WHERE co.course_id = c.id AND co.user_clerk_id = sqlc.arg(viewer)::text
                                  AND co.status = 'accepted')))
ORDER BY lower(n.name), r.user_clerk_id;
