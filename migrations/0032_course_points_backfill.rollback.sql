CREATE OR REPLACE FUNCTION count_learners_above(p_points integer, p_course_id uuid) RETURNS bigint
LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
BEGIN
    IF p_course_id IS NULL THEN
        RETURN (SELECT coalesce(sum(h.learners), 0)::bigint FROM user_points_histogram h
                WHERE h.points > p_points);
    END IF;
    RETURN (SELECT count(*) FROM user_courses classmate
            JOIN user_points above ON above.user_clerk_id = classmate.user_clerk_id
            WHERE classmate.course_id = p_course_id AND above.points > p_points);
END
$$;
