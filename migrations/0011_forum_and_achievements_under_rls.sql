-- Achievements under row-level security. The award evaluation runs as the owner (SECURITY DEFINER):
-- a learner's write (a like, say) can earn another user's award, and the evaluation counts rows of
-- private tables that an as_user() identity cannot see. user_points is written only by the
-- evaluation's triggers: learnstore_app may read it (leaderboards) and nothing more.
ALTER FUNCTION evaluate_achievements(text[], uuid, text[]) SECURITY DEFINER SET search_path = public, pg_temp;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON user_points FROM learnstore_app;
-- A learner's forum action notifies others (a reply the post's author, a like the liked, a mention
-- the mentioned) in the statement of the action: under as_user() such a row may be inserted for
-- another user, and only such a row (no system notices in someone else's name).
CREATE POLICY notifications_forum_activity ON notifications FOR INSERT
    WITH CHECK (type IN ('reply', 'mention', 'like') AND source_type IN ('forum_post', 'forum_reply'));
