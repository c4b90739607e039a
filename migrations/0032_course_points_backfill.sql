-- transactional: false
-- statement_timeout: off
-- The first copy of 0032_course_points' rows, whose triggers keep every change since: the learners
-- with points, 500 at a time in clerk_id order, each batch committed on its own, rewritten by the
-- repair function (which locks the batch's user_points rows and learners, then copies in a later
-- statement: an award or an enrolment meanwhile waits and copies after). Each row copied is counted
-- into the course's histogram by its trigger. No batch holds its locks long; a rerun changes
-- nothing exact. Then a course's rank reads the histogram, and the planner learns the sizes.
DO $$
DECLARE
    v_last text := '';
    v_batch text[];
BEGIN
    LOOP
        SELECT array_agg(b.user_clerk_id ORDER BY b.user_clerk_id) INTO v_batch
        FROM (SELECT p.user_clerk_id FROM public.user_points p WHERE p.user_clerk_id > v_last
              ORDER BY p.user_clerk_id LIMIT 500) AS b;
        EXIT WHEN v_batch IS NULL;
        PERFORM public.course_points_resync(v_batch);
        v_last := v_batch[cardinality(v_batch)];
        COMMIT;
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION count_learners_above(p_points integer, p_course_id uuid) RETURNS bigint
LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
BEGIN
    IF p_course_id IS NULL THEN
        RETURN (SELECT coalesce(sum(h.learners), 0)::bigint FROM user_points_histogram h
                WHERE h.points > p_points);
    END IF;
    RETURN (SELECT coalesce(sum(h.learners), 0)::bigint FROM course_points_histogram h
            WHERE h.course_id = p_course_id AND h.points > p_points);
END
$$;
ANALYZE public.course_points;
ANALYZE public.course_points_histogram;
