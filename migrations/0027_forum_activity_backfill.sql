-- transactional: false
-- statement_timeout: off
-- The counts of every user (0027_forum_activity's triggers keep them from then on), 500 users at a
-- time in clerk_id order, each batch committed on its own: forum_user_activity_recount locks the
-- batch's rows, then counts in a later statement, so a write racing it either is in the count or
-- adds its term after. A rerun after a stop recounts from the start (a count is idempotent).
DO $$
DECLARE
    v_last text := '';
    v_batch text[];
BEGIN
    LOOP
        v_batch := ARRAY(SELECT u.clerk_id FROM public.users u WHERE u.clerk_id > v_last ORDER BY u.clerk_id LIMIT 500);
        EXIT WHEN cardinality(v_batch) = 0;
        PERFORM public.forum_user_activity_recount(v_batch);
        v_last := v_batch[cardinality(v_batch)];
        COMMIT;
    END LOOP;
END
$$;
