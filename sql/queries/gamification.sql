-- Gamification: achievements with a typed requirement (learnstore.achievement_rules), evaluated in
-- SQL by evaluate_achievements (sql/schema/78_achievement_evaluation.sql), the learner's profile
-- card and the points leaderboards.

-- name: CreateAchievement :one
-- Creates an achievement; the requirement must already be a valid rule.
INSERT INTO achievements (code, title, description, icon_url, points, requirement)
VALUES (sqlc.arg(code), sqlc.arg(title), sqlc.arg(description), sqlc.narg(icon_url), sqlc.arg(points),
        sqlc.arg(requirement))
RETURNING *;

-- name: GetAchievement :one
-- The achievement with this id.
SELECT * FROM achievements WHERE id = sqlc.arg(id);

-- name: GetAchievementByCode :one
-- The achievement with this code.
SELECT * FROM achievements WHERE code = sqlc.arg(code);

-- name: ListAchievements :many
-- Every achievement, by code.
SELECT * FROM achievements ORDER BY code;

-- name: UpdateAchievement :one
-- Changes what is shown of an achievement and its points; awards already made stay.
UPDATE achievements
SET title = sqlc.arg(title), description = sqlc.arg(description), icon_url = sqlc.narg(icon_url),
    points = sqlc.arg(points)
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: DeleteAchievement :execrows
-- Deletes an achievement and every award of it.
DELETE FROM achievements WHERE id = sqlc.arg(id);

-- name: ScoreUserAchievements :one
-- Evaluates every achievement for one user and awards the newly met ones (each with a
-- notification); returns the user's clerk_id and the awarded achievements as a JSON array. No row
-- for an unknown user.
SELECT u.clerk_id,
       coalesce((SELECT jsonb_agg(to_jsonb(a) ORDER BY a.code)
                 FROM evaluate_achievements(ARRAY[u.clerk_id], NULL, NULL) AS e
                 JOIN achievements a ON a.id = e.achievement_id), '[]')::jsonb AS awarded
FROM users u
WHERE u.clerk_id = sqlc.arg(clerk_id);

-- name: ScoreAchievementForAllUsers :one
-- Evaluates one achievement for every user in one set-based statement and awards it to those who
-- meet it (each with a notification); returns how many were awarded. No row for an unknown
-- achievement.
SELECT a.id,
       (SELECT count(*) FROM evaluate_achievements(array(SELECT clerk_id FROM users), a.id, NULL))::integer
           AS awarded
FROM achievements a
WHERE a.id = sqlc.arg(achievement_id);

-- name: ListUserAchievements :many
-- The user's awards, newest first.
SELECT a.id AS achievement_id, a.code, a.title, a.points, ua.earned_at
FROM user_achievements ua
JOIN achievements a ON a.id = ua.achievement_id
WHERE ua.user_clerk_id = sqlc.arg(user_clerk_id) AND ua.earned_at IS NOT NULL
ORDER BY ua.earned_at DESC, a.code;

-- name: GetProfileCard :one
-- A learner's profile card in one query: courses enrolled and completed, lessons completed, quizzes
-- passed (distinct quizzes answered right at least once), languages learned, the current streak
-- (as of now, on the user's local calendar) and the longest, points from earned
-- achievements, and every achievement as a JSON array: earned ones with earned_at (progress =
-- target), the rest with their progress toward the target, computed now. No row for an unknown user.
SELECT u.clerk_id,
       u.first_name,
       u.last_name,
       u.avatar_url,
       (SELECT count(*) FROM user_courses uc WHERE uc.user_clerk_id = u.clerk_id)::integer AS courses_enrolled,
       (SELECT count(*) FROM user_courses uc
        WHERE uc.user_clerk_id = u.clerk_id AND uc.completed_at IS NOT NULL)::integer AS courses_completed,
       (SELECT count(*) FROM user_progress p
        WHERE p.user_clerk_id = u.clerk_id AND p.status = 'completed')::integer AS lessons_completed,
       (SELECT count(DISTINCT q.quiz_id) FROM quiz_attempts q
        WHERE q.user_clerk_id = u.clerk_id AND q.is_correct)::integer AS quizzes_passed,
       -- the languages of the courses enrolled in, by code
       array(SELECT DISTINCT l.code FROM user_courses uc
             JOIN courses c ON c.id = uc.course_id JOIN languages l ON l.id = c.language_id
             WHERE uc.user_clerk_id = u.clerk_id ORDER BY l.code)::text[] AS languages_learned,
       coalesce((SELECT CASE WHEN s.last_active_date >= (now() AT TIME ZONE u.timezone)::date - 1
                             THEN s.current_streak ELSE 0 END
                 FROM user_streaks s WHERE s.user_clerk_id = u.clerk_id), 0)::integer AS current_streak,
       coalesce((SELECT s.longest_streak FROM user_streaks s WHERE s.user_clerk_id = u.clerk_id), 0)::integer
           AS longest_streak,
       coalesce((SELECT p.points FROM user_points p WHERE p.user_clerk_id = u.clerk_id), 0)::integer AS points,
       (SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'achievement_id', a.id, 'code', a.code, 'title', a.title, 'description', a.description,
                    'icon_url', a.icon_url, 'points', a.points, 'earned_at', ua.earned_at,
                    'progress', CASE WHEN ua.earned_at IS NULL THEN sc.score[1] ELSE sc.score[2] END,
                    'target', sc.score[2])
                ORDER BY ua.earned_at DESC NULLS LAST, sc.score[1]::numeric / sc.score[2] DESC, a.code), '[]')
        FROM achievements a
        CROSS JOIN (
            SELECT m.metrics
            FROM achievement_metrics(
                ARRAY[u.clerk_id],
                array(SELECT DISTINCT k.kind FROM achievements ak,
                      unnest(achievement_requirement_kinds(ak.requirement)) AS k (kind)),
                array(SELECT DISTINCT (found.course_id #>> '{}')::uuid
                      FROM achievements ac,
                           jsonb_path_query(ac.requirement, 'lax $.**.course_id') AS found (course_id)
                      WHERE jsonb_typeof(found.course_id) = 'string')) AS m
        ) AS um
        LEFT JOIN user_achievements ua
            ON ua.achievement_id = a.id AND ua.user_clerk_id = u.clerk_id AND ua.earned_at IS NOT NULL
        CROSS JOIN LATERAL (SELECT achievement_score(a.requirement, um.metrics) AS score) AS sc
       )::jsonb AS achievements
FROM users u
WHERE u.clerk_id = sqlc.arg(clerk_id);

-- name: ListLeaderboard :many
-- The overall points leaderboard: the top_n learners who earned something, by points
-- (user_points, kept by triggers), plus the asking user's own row wherever they rank (is_me).
-- Equal points share a rank (1, 2, 2, 4); among them, who reached the score first comes first; a
-- learner without points ranks after everyone with points. The top is read in index order
-- (user_points_rank_idx) and ranked among itself (everyone with more points is in it); the asking
-- user's rank, when outside the top, sums the points histogram (count_learners_above). A course's
-- board is ListCourseLeaderboard: a statement each, so that each keeps one generic plan (a branch
-- per board made the generic plan cost both, and every call was planned anew). top_n (1-1000)
-- behind a subquery, under a constant cap: custom and generic plans then estimate the same top
-- (a tenth of the cap), so the generic plan is kept, and its names are joined row by row under the
-- LIMIT whatever the platform's size.
WITH top AS (
    SELECT c.*
    FROM (SELECT p.user_clerk_id, p.points, p.achievements, p.reached_at, u.first_name, u.last_name, u.avatar_url
          FROM user_points p
          JOIN users u ON u.clerk_id = p.user_clerk_id
          ORDER BY p.points DESC, p.reached_at, p.user_clerk_id
          LIMIT 1000) AS c
    ORDER BY c.points DESC, c.reached_at, c.user_clerk_id
    LIMIT (SELECT sqlc.arg(top_n)::integer)
), me AS (
    SELECT u.clerk_id AS user_clerk_id,
           coalesce(p.points, 0) AS points,
           coalesce(p.achievements, 0) AS achievements,
           p.reached_at, u.first_name, u.last_name, u.avatar_url
    FROM users u
    LEFT JOIN user_points p ON p.user_clerk_id = u.clerk_id
    WHERE u.clerk_id = sqlc.arg(clerk_id)::text
      AND NOT EXISTS (SELECT FROM top t WHERE t.user_clerk_id = u.clerk_id)
), board AS (
    SELECT t.user_clerk_id, t.points, t.achievements, t.reached_at, t.first_name, t.last_name, t.avatar_url,
           rank() OVER (ORDER BY t.points DESC)::integer AS rank
    FROM top t
    UNION ALL
    SELECT m.user_clerk_id, m.points, m.achievements, m.reached_at, m.first_name, m.last_name, m.avatar_url,
           (1 + count_learners_above(m.points, NULL))::integer
    FROM me m
)
SELECT b.rank,
       b.user_clerk_id,
       b.first_name,
       b.last_name,
       b.avatar_url,
       b.points,
       b.achievements,
       (b.user_clerk_id = sqlc.arg(clerk_id)::text) AS is_me
FROM board b
ORDER BY b.points DESC, b.reached_at NULLS LAST, b.user_clerk_id;

-- name: ListCourseLeaderboard :many
-- returns: ListLeaderboardRow
-- A course's points leaderboard, among the learners enrolled in it: as ListLeaderboard, from each
-- enrolled learner's points copied onto their enrolment (course_points, kept by triggers), walked in
-- rank order (course_points_rank_idx) and stopped after top_n, whatever the course's audience; the
-- asking user's row only if enrolled, their rank summed from the course's points histogram
-- (count_learners_above with the course).
WITH top AS (
    SELECT c.*
    FROM (SELECT cp.user_clerk_id, cp.points, p.achievements, cp.reached_at, u.first_name, u.last_name,
                 u.avatar_url
          FROM course_points cp
          JOIN user_points p ON p.user_clerk_id = cp.user_clerk_id
          JOIN users u ON u.clerk_id = cp.user_clerk_id
          WHERE cp.course_id = sqlc.arg(course_id)::uuid
          ORDER BY cp.points DESC, cp.reached_at, cp.user_clerk_id
          LIMIT 1000) AS c
    ORDER BY c.points DESC, c.reached_at, c.user_clerk_id
    LIMIT (SELECT sqlc.arg(top_n)::integer)
), me AS (
    SELECT u.clerk_id AS user_clerk_id,
           coalesce(p.points, 0) AS points,
           coalesce(p.achievements, 0) AS achievements,
           p.reached_at, u.first_name, u.last_name, u.avatar_url
    FROM users u
    LEFT JOIN user_points p ON p.user_clerk_id = u.clerk_id
    WHERE u.clerk_id = sqlc.arg(clerk_id)::text
      AND EXISTS (SELECT FROM user_courses uc
                  WHERE uc.user_clerk_id = u.clerk_id AND uc.course_id = sqlc.arg(course_id)::uuid)
      AND NOT EXISTS (SELECT FROM top t WHERE t.user_clerk_id = u.clerk_id)
), board AS (
    SELECT t.user_clerk_id, t.points, t.achievements, t.reached_at, t.first_name, t.last_name, t.avatar_url,
           rank() OVER (ORDER BY t.points DESC)::integer AS rank
    FROM top t
    UNION ALL
    SELECT m.user_clerk_id, m.points, m.achievements, m.reached_at, m.first_name, m.last_name, m.avatar_url,
           (1 + count_learners_above(m.points, sqlc.arg(course_id)::uuid))::integer
    FROM me m
)
SELECT b.rank,
       b.user_clerk_id,
       b.first_name,
       b.last_name,
       b.avatar_url,
       b.points,
       b.achievements,
       (b.user_clerk_id = sqlc.arg(clerk_id)::text) AS is_me
FROM board b
ORDER BY b.points DESC, b.reached_at NULLS LAST, b.user_clerk_id;
