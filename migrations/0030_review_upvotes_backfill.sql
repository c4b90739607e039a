-- transactional: false
-- statement_timeout: off
-- The upvote counts of the reviews written before 0030_review_upvotes (whose triggers keep every
-- later write), 1000 reviews a batch in id order, each batch committed on its own:
-- feedback_upvote_counts_recount locks only the batch's rows, for a few milliseconds, and counts
-- them exactly while users keep upvoting (an upvoter of those reviews waits for the batch, not for
-- the backfill). A rerun recounts from the start and changes nothing exact. Then the table is
-- analyzed, so that the course page's plan knows its size.
DO $$
DECLARE
    v_last uuid := '00000000-0000-0000-0000-000000000000';
    v_batch uuid[];
BEGIN
    LOOP
        SELECT array_agg(b.id ORDER BY b.id) INTO v_batch
        FROM (SELECT f.id FROM public.course_feedback f WHERE f.id > v_last ORDER BY f.id LIMIT 1000) AS b;
        EXIT WHEN v_batch IS NULL;
        PERFORM public.feedback_upvote_counts_recount(v_batch);
        v_last := v_batch[cardinality(v_batch)];
        COMMIT;
    END LOOP;
END
$$;
ANALYZE public.feedback_upvote_counts;
