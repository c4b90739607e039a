-- transactional: false
-- statement_timeout: off
-- The first copy of 0040_course_roster_names' rows, whose triggers keep every change since: the
-- enrolled learners, 1,000 at a time in clerk_id order, each batch committed on its own, written by
-- the repair function (which locks the batch's learners, then copies in a later statement: a rename
-- or an enrolment meanwhile waits and copies after). No batch holds its locks long; a rerun changes
-- nothing exact. Then the planner learns the table's size.
DO $$
DECLARE
    v_last text := '';
    v_batch text[];
BEGIN
    LOOP
        SELECT array_agg(b.clerk_id ORDER BY b.clerk_id) INTO v_batch
        FROM (SELECT u.clerk_id FROM public.users u WHERE u.clerk_id > v_last
                AND EXISTS (SELECT FROM public.user_courses uc WHERE uc.user_clerk_id = u.clerk_id)
              ORDER BY u.clerk_id LIMIT 1000) AS b;
        EXIT WHEN v_batch IS NULL;
        PERFORM public.course_roster_names_resync(v_batch);
        v_last := v_batch[cardinality(v_batch)];
        COMMIT;
    END LOOP;
END
$$;
ANALYZE public.course_roster_names;
