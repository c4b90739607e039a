-- transactional: false
-- statement_timeout: off
-- The summaries of the courses whose enrolments and ratings were written before 0028_course_stats
-- (whose triggers keep every later write), 100 courses a batch in id order, each batch committed on
-- its own: course_stats_recount locks only the batch's summary rows, for a few milliseconds, and
-- counts them exactly while learners keep enrolling (a writer of those courses waits for the
-- batch, not for the backfill). A rerun recounts from the start and changes nothing exact.
DO $$
DECLARE
    v_last uuid := '00000000-0000-0000-0000-000000000000';
    v_batch uuid[];
BEGIN
    LOOP
        SELECT array_agg(b.id ORDER BY b.id) INTO v_batch
        FROM (SELECT c.id FROM public.courses c WHERE c.id > v_last ORDER BY c.id LIMIT 100) AS b;
        EXIT WHEN v_batch IS NULL;
        PERFORM public.course_stats_recount(v_batch);
        v_last := v_batch[cardinality(v_batch)];
        COMMIT;
    END LOOP;
END
$$;
-- the planner learns the summary's size now, not at autovacuum's next pass (until then it plans
-- for an empty table, and bench/test_plans.py's key lookups of it fail on a fresh copy)
ANALYZE public.course_stats;
