-- Derived state exact under any concurrency (issue 17).
--
-- 1. Achievements are awarded "at least once", not only "at most once": evaluate_achievements takes
--    a transaction-scoped advisory lock per user before counting (see sql/schema/78_achievement_evaluation.sql).
--    CREATE OR REPLACE resets what it omits: SECURITY DEFINER and the search_path of 0011 are restated.
CREATE OR REPLACE FUNCTION evaluate_achievements(p_user_clerk_ids text[], p_achievement_id uuid, p_kinds text[])
RETURNS SETOF user_achievements
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    needed_kinds text[];
    needed_courses uuid[];
BEGIN
    -- What the candidates count, first: nothing to do when no achievement is a candidate.
    SELECT array(SELECT DISTINCT k.kind FROM achievements a,
                 unnest(achievement_requirement_kinds(a.requirement)) AS k (kind)
                 WHERE (p_achievement_id IS NULL OR a.id = p_achievement_id)
                   AND (p_kinds IS NULL OR achievement_requirement_kinds(a.requirement) && p_kinds)),
           array(SELECT DISTINCT (found.course_id #>> '{}')::uuid
                 FROM achievements a, jsonb_path_query(a.requirement, 'lax $.**.course_id') AS found (course_id)
                 WHERE (p_achievement_id IS NULL OR a.id = p_achievement_id)
                   AND (p_kinds IS NULL OR achievement_requirement_kinds(a.requirement) && p_kinds)
                   AND jsonb_typeof(found.course_id) = 'string')
    INTO needed_kinds, needed_courses;
    IF cardinality(needed_kinds) = 0 THEN
        RETURN;
    END IF;
    IF cardinality(p_user_clerk_ids) > 32 THEN
        PERFORM pg_advisory_xact_lock(hashtext('learnstore.evaluate_achievements'));
    ELSE
        PERFORM pg_advisory_xact_lock_shared(hashtext('learnstore.evaluate_achievements'));
        PERFORM pg_advisory_xact_lock(hashtext('learnstore.evaluate_achievements'), learner.key)
        FROM (SELECT DISTINCT hashtext(ids.id) AS key FROM unnest(p_user_clerk_ids) AS ids (id)
              WHERE ids.id IS NOT NULL ORDER BY 1) AS learner;
    END IF;
    -- A new statement, hence a snapshot taken after the locks were granted.
    RETURN QUERY
    WITH candidates AS (
        SELECT a.id, a.code, a.title, a.points, a.requirement
        FROM achievements a
        WHERE (p_achievement_id IS NULL OR a.id = p_achievement_id)
          AND (p_kinds IS NULL OR achievement_requirement_kinds(a.requirement) && p_kinds)
    ), scored AS (
        SELECT m.user_clerk_id, c.id AS achievement_id, achievement_score(c.requirement, m.metrics) AS score
        FROM achievement_metrics(p_user_clerk_ids, needed_kinds, needed_courses) AS m
        CROSS JOIN candidates c
        WHERE NOT EXISTS (SELECT FROM user_achievements ua
                          WHERE ua.user_clerk_id = m.user_clerk_id AND ua.achievement_id = c.id
                            AND ua.earned_at IS NOT NULL)
    ), awarded AS (
        INSERT INTO user_achievements AS ua (user_clerk_id, achievement_id, progress, earned_at)
        SELECT s.user_clerk_id, s.achievement_id, least(s.score[1], 2147483647), now()
        FROM scored s
        WHERE s.score[1] >= s.score[2]
        ORDER BY s.user_clerk_id, s.achievement_id
        ON CONFLICT (user_clerk_id, achievement_id) DO UPDATE
            SET progress = excluded.progress, earned_at = excluded.earned_at
            WHERE ua.earned_at IS NULL
        RETURNING ua.*
    ), notified AS (
        INSERT INTO notifications (user_clerk_id, type, message, source_id, source_type, metadata)
        SELECT aw.user_clerk_id, 'system', format('You earned the achievement "%s".', c.title),
               aw.achievement_id, 'achievement',
               jsonb_build_object('achievement_code', c.code, 'points', c.points)
        FROM awarded aw JOIN candidates c ON c.id = aw.achievement_id
    )
    SELECT * FROM awarded;
END
$$;

-- 2. "Notified once per liker" becomes a unique key: built concurrently, with the duplicates the old
--    NOT EXISTS test let through removed first, in 0012_exact_derived_state_like_key.

-- 3. A user's streak computed without writing it (streak_of), which recompute_streak stores and
--    `learnstore check` compares with what is stored: one computation for both.
-- A user's streak computed from login_days, without writing it: the current streak is the run of
-- consecutive days ending on the last active day, the longest the longest run. recompute_streak
-- stores it; `learnstore check` compares it with what is stored.
CREATE FUNCTION streak_of(p_user_clerk_id text)
RETURNS TABLE (current_streak integer, longest_streak integer, last_active_date date)
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
    WITH islands AS (
        SELECT day, day - (row_number() OVER (ORDER BY day))::integer AS island
        FROM login_days WHERE user_clerk_id = p_user_clerk_id
    ), runs AS (
        SELECT count(*)::integer AS length, max(day) AS last_day FROM islands GROUP BY island
    )
    SELECT coalesce((SELECT length FROM runs ORDER BY last_day DESC LIMIT 1), 0),
           coalesce(max(length), 0),
           max(last_day)
    FROM runs;
$$;

-- Rewrites a user's user_streaks row from login_days and returns it.
CREATE OR REPLACE FUNCTION recompute_streak(p_user_clerk_id text) RETURNS user_streaks
LANGUAGE sql VOLATILE AS $$
    INSERT INTO user_streaks AS s (user_clerk_id, current_streak, longest_streak, last_active_date)
    SELECT p_user_clerk_id, c.current_streak, c.longest_streak, c.last_active_date FROM streak_of(p_user_clerk_id) AS c
    ON CONFLICT (user_clerk_id) DO UPDATE
        SET current_streak = excluded.current_streak,
            longest_streak = excluded.longest_streak,
            last_active_date = excluded.last_active_date
    RETURNING s.*;
$$;
