-- Streaks are a function of login_days: one function computes them, and both the incremental
-- path (record_activity) and the repair path (recompute_streak) call it, so they cannot disagree.

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
CREATE FUNCTION recompute_streak(p_user_clerk_id text) RETURNS user_streaks
LANGUAGE sql VOLATILE AS $$
    INSERT INTO user_streaks AS s (user_clerk_id, current_streak, longest_streak, last_active_date)
    SELECT p_user_clerk_id, c.current_streak, c.longest_streak, c.last_active_date FROM streak_of(p_user_clerk_id) AS c
    ON CONFLICT (user_clerk_id) DO UPDATE
        SET current_streak = excluded.current_streak,
            longest_streak = excluded.longest_streak,
            last_active_date = excluded.last_active_date
    RETURNING s.*;
$$;

-- Records that a user was active at an instant, on the user's local calendar day, and returns the
-- streak. Concurrent calls for one user queue on the user's row; each statement of a PL/pgSQL
-- function takes a fresh snapshot, so the recompute sees every committed day.
CREATE FUNCTION record_activity(p_user_clerk_id text, p_at timestamptz) RETURNS user_streaks
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    local_day date;
    streak user_streaks;
BEGIN
    SELECT (p_at AT TIME ZONE u.timezone)::date INTO local_day
    FROM users u WHERE u.clerk_id = p_user_clerk_id
    FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no user with clerk_id %', quote_literal(p_user_clerk_id)
            USING ERRCODE = 'no_data_found', HINT = 'user_clerk_id';
    END IF;
    INSERT INTO login_days (user_clerk_id, day, first_seen_at)
    VALUES (p_user_clerk_id, local_day, p_at)
    ON CONFLICT (user_clerk_id, day) DO NOTHING;
    IF NOT FOUND THEN
        SELECT * INTO streak FROM user_streaks WHERE user_clerk_id = p_user_clerk_id;
        IF FOUND THEN
            RETURN streak;
        END IF;
    END IF;
    RETURN recompute_streak(p_user_clerk_id);
END
$$;
