-- transactional: false
-- statement_timeout: off
-- The rollup of every course (0031_forum_course_activity's triggers keep it from then on), 100
-- courses at a time in id order, each batch committed on its own: forum_course_activity_recount adds
-- the difference between the base rows and the stored sums read in one snapshot, so a write racing
-- it is either in both or adds its events after. A rerun after a stop recounts from the start (the
-- difference of a counted course is zero). Then the rollup analyzed: the backfill filled it faster
-- than autovacuum looks, and the trending read's plan estimates the window's rows.
DO $$
DECLARE
    v_last uuid := '00000000-0000-0000-0000-000000000000';
    v_batch uuid[];
BEGIN
    LOOP
        v_batch := ARRAY(SELECT c.id FROM public.courses c WHERE c.id > v_last ORDER BY c.id LIMIT 100);
        EXIT WHEN cardinality(v_batch) = 0;
        PERFORM public.forum_course_activity_recount(v_batch);
        v_last := v_batch[cardinality(v_batch)];
        COMMIT;
    END LOOP;
END
$$;
ANALYZE forum_course_activity;
