-- transactional: false
-- statement_timeout: off
-- The counts of every user (0027_forum_activity's triggers keep them from then on), 500 users at a
-- time in clerk_id order, each batch committed on its own: forum_user_activity_recount locks the
-- batch's rows, then counts in a later statement, so a write racing it either is in the count or
-- adds its term after. A rerun after a stop recounts from the start (a count is idempotent). Then
-- the CHECKs that the counts hold: NOT VALID first (no lock held while the table is read), validated
-- under a lock that lets writers in.
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
ALTER TABLE forum_user_activity
    ADD CONSTRAINT forum_user_activity_posts_non_negative CHECK (posts >= 0) NOT VALID,
    ADD CONSTRAINT forum_user_activity_posts_public_non_negative CHECK (posts_public >= 0) NOT VALID,
    ADD CONSTRAINT forum_user_activity_replies_non_negative CHECK (replies >= 0) NOT VALID,
    ADD CONSTRAINT forum_user_activity_replies_public_non_negative CHECK (replies_public >= 0) NOT VALID,
    ADD CONSTRAINT forum_user_activity_replies_own_non_negative CHECK (replies_own >= 0) NOT VALID,
    ADD CONSTRAINT forum_user_activity_likes_given_non_negative CHECK (likes_given >= 0) NOT VALID,
    ADD CONSTRAINT forum_user_activity_likes_given_public_non_negative CHECK (likes_given_public >= 0) NOT VALID,
    ADD CONSTRAINT forum_user_activity_likes_given_own_non_negative CHECK (likes_given_own >= 0) NOT VALID,
    ADD CONSTRAINT forum_user_activity_likes_received_non_negative CHECK (likes_received >= 0) NOT VALID,
    ADD CONSTRAINT forum_user_activity_likes_received_public_non_negative CHECK (likes_received_public >= 0) NOT VALID,
    ADD CONSTRAINT forum_user_activity_likes_received_own_non_negative CHECK (likes_received_own >= 0) NOT VALID;
ALTER TABLE forum_user_activity VALIDATE CONSTRAINT forum_user_activity_posts_non_negative;
ALTER TABLE forum_user_activity VALIDATE CONSTRAINT forum_user_activity_posts_public_non_negative;
ALTER TABLE forum_user_activity VALIDATE CONSTRAINT forum_user_activity_replies_non_negative;
ALTER TABLE forum_user_activity VALIDATE CONSTRAINT forum_user_activity_replies_public_non_negative;
ALTER TABLE forum_user_activity VALIDATE CONSTRAINT forum_user_activity_replies_own_non_negative;
ALTER TABLE forum_user_activity VALIDATE CONSTRAINT forum_user_activity_likes_given_non_negative;
ALTER TABLE forum_user_activity VALIDATE CONSTRAINT forum_user_activity_likes_given_public_non_negative;
ALTER TABLE forum_user_activity VALIDATE CONSTRAINT forum_user_activity_likes_given_own_non_negative;
ALTER TABLE forum_user_activity VALIDATE CONSTRAINT forum_user_activity_likes_received_non_negative;
ALTER TABLE forum_user_activity VALIDATE CONSTRAINT forum_user_activity_likes_received_public_non_negative;
ALTER TABLE forum_user_activity VALIDATE CONSTRAINT forum_user_activity_likes_received_own_non_negative;
