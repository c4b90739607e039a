-- transactional: false
-- statement_timeout: off
-- The first counts of 0029_rank's histogram and lesson counters, whose triggers keep every change
-- since. In batches, each committed on its own: every points value, then 500 lessons at a time in
-- id order, rewritten by the repair functions (which lock a batch's counter rows, then count in a
-- later statement: a write meanwhile waits and adds its delta to the exact count). No batch holds
-- its locks long; a rerun recounts. Then the rank reads the histogram.
DO $$
DECLARE
    v_points integer := -1;
    v_last uuid := '00000000-0000-0000-0000-000000000000';
    v_batch uuid[];
BEGIN
    LOOP
        -- the next value, found by user_points_rank_idx (one probe per distinct value)
        SELECT p.points INTO v_points FROM public.user_points p WHERE p.points > v_points
        ORDER BY p.points LIMIT 1;
        EXIT WHEN NOT FOUND;
        PERFORM public.user_points_histogram_reset(ARRAY[v_points]);
        COMMIT;
    END LOOP;
    LOOP
        v_batch := array(SELECT l.id FROM public.lessons l WHERE l.id > v_last ORDER BY l.id LIMIT 500);
        EXIT WHEN cardinality(v_batch) = 0;
        PERFORM public.lesson_progress_counts_reset(v_batch);
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
    RETURN (SELECT count(*) FROM user_courses classmate
            JOIN user_points above ON above.user_clerk_id = classmate.user_clerk_id
            WHERE classmate.course_id = p_course_id AND above.points > p_points);
END
$$;
-- the planner learns the counters' sizes now, not at autovacuum's next pass
ANALYZE public.user_points_histogram;
ANALYZE public.lesson_progress_counts;
