-- Row-level security for learnstore.as_user(), and the ledger of signed webhook deliveries.
--
-- learnstore_app is the role as_user() runs every operation under (SET LOCAL ROLE through
-- set_config('role', ..., true)), with the user's id in the transaction-local setting
-- learnstore.clerk_id. It is NOLOGIN: a service logs in as its own role, a member of it.
-- The owner (who runs migrations and the service path) is not subject to these policies (no
-- FORCE ROW LEVEL SECURITY), so everything that runs without as_user() works as before.
--
-- Roles belong to the whole cluster, not to this database: the role is created only when missing
-- (and a concurrent creator, e.g. another database's migration, is not an error), and the
-- rollback leaves it in place for the other databases that may use it.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'learnstore_app') THEN
        BEGIN
            CREATE ROLE learnstore_app NOLOGIN;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN NULL;  -- created concurrently
            WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'role learnstore_app does not exist and % may not create it', current_user
                    USING HINT = 'run `learnstore roles --apply` as a role with CREATEROLE first';
        END;
    END IF;
    -- The owner switches to learnstore_app in as_user(): it must be a member (a superuser is one).
    IF NOT pg_has_role(current_user, 'learnstore_app', 'MEMBER') THEN
        EXECUTE format('GRANT learnstore_app TO %I', current_user);
    END IF;
END
$$;

-- What the role may touch: every table of ours (the policies below narrow the private ones), and
-- the tables later migrations create. yoyo's bookkeeping tables and the webhook ledger are not its.
GRANT USAGE ON SCHEMA public TO learnstore_app;
DO $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT c.relname FROM pg_class c
             WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
               AND c.relname !~ '^(_yoyo_|yoyo_lock$)'
    LOOP
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO learnstore_app', t);
    END LOOP;
END
$$;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO learnstore_app;

-- Recomputing a course's enrolments after its lessons change is everybody's business, whoever
-- changed the lessons: it runs as the owner, so a learner's RLS view does not leave the other
-- learners' progress stale.
ALTER FUNCTION refresh_course_enrolments(uuid[]) SECURITY DEFINER SET search_path = public, pg_temp;

-- Private tables: a user's own rows, nobody else's business. Seen and written only by their user.
ALTER TABLE user_streaks ENABLE ROW LEVEL SECURITY;
CREATE POLICY user_streaks_own_rows ON user_streaks
    USING (user_clerk_id = current_setting('learnstore.clerk_id', true))
    WITH CHECK (user_clerk_id = current_setting('learnstore.clerk_id', true));
ALTER TABLE login_days ENABLE ROW LEVEL SECURITY;
CREATE POLICY login_days_own_rows ON login_days
    USING (user_clerk_id = current_setting('learnstore.clerk_id', true))
    WITH CHECK (user_clerk_id = current_setting('learnstore.clerk_id', true));
ALTER TABLE learning_goals ENABLE ROW LEVEL SECURITY;
CREATE POLICY learning_goals_own_rows ON learning_goals
    USING (user_clerk_id = current_setting('learnstore.clerk_id', true))
    WITH CHECK (user_clerk_id = current_setting('learnstore.clerk_id', true));
ALTER TABLE notifications ENABLE ROW LEVEL SECURITY;
CREATE POLICY notifications_own_rows ON notifications
    USING (user_clerk_id = current_setting('learnstore.clerk_id', true))
    WITH CHECK (user_clerk_id = current_setting('learnstore.clerk_id', true));
ALTER TABLE quiz_attempts ENABLE ROW LEVEL SECURITY;
CREATE POLICY quiz_attempts_own_rows ON quiz_attempts
    USING (user_clerk_id = current_setting('learnstore.clerk_id', true))
    WITH CHECK (user_clerk_id = current_setting('learnstore.clerk_id', true));
ALTER TABLE user_courses ENABLE ROW LEVEL SECURITY;
CREATE POLICY user_courses_own_rows ON user_courses
    USING (user_clerk_id = current_setting('learnstore.clerk_id', true))
    WITH CHECK (user_clerk_id = current_setting('learnstore.clerk_id', true));
ALTER TABLE user_progress ENABLE ROW LEVEL SECURITY;
CREATE POLICY user_progress_own_rows ON user_progress
    USING (user_clerk_id = current_setting('learnstore.clerk_id', true))
    WITH CHECK (user_clerk_id = current_setting('learnstore.clerk_id', true));
ALTER TABLE user_achievements ENABLE ROW LEVEL SECURITY;
CREATE POLICY user_achievements_own_rows ON user_achievements
    USING (user_clerk_id = current_setting('learnstore.clerk_id', true))
    WITH CHECK (user_clerk_id = current_setting('learnstore.clerk_id', true));
ALTER TABLE user_flashcard_progress ENABLE ROW LEVEL SECURITY;
CREATE POLICY user_flashcard_progress_own_rows ON user_flashcard_progress
    USING (user_clerk_id = current_setting('learnstore.clerk_id', true))
    WITH CHECK (user_clerk_id = current_setting('learnstore.clerk_id', true));

-- Owned tables: everyone reads them (a profile, a post, a like count), only their user writes them.
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY users_read ON users FOR SELECT USING (true);
CREATE POLICY users_update_own ON users FOR UPDATE
    USING (clerk_id = current_setting('learnstore.clerk_id', true))
    WITH CHECK (clerk_id = current_setting('learnstore.clerk_id', true));
CREATE POLICY users_delete_own ON users FOR DELETE USING (clerk_id = current_setting('learnstore.clerk_id', true));
ALTER TABLE forum_posts ENABLE ROW LEVEL SECURITY;
CREATE POLICY forum_posts_read ON forum_posts FOR SELECT USING (true);
CREATE POLICY forum_posts_insert_own ON forum_posts FOR INSERT WITH CHECK (author_clerk_id = current_setting('learnstore.clerk_id', true));
CREATE POLICY forum_posts_update_own ON forum_posts FOR UPDATE
    USING (author_clerk_id = current_setting('learnstore.clerk_id', true))
    WITH CHECK (author_clerk_id = current_setting('learnstore.clerk_id', true));
CREATE POLICY forum_posts_delete_own ON forum_posts FOR DELETE USING (author_clerk_id = current_setting('learnstore.clerk_id', true));
ALTER TABLE forum_replies ENABLE ROW LEVEL SECURITY;
CREATE POLICY forum_replies_read ON forum_replies FOR SELECT USING (true);
CREATE POLICY forum_replies_insert_own ON forum_replies FOR INSERT WITH CHECK (author_clerk_id = current_setting('learnstore.clerk_id', true));
CREATE POLICY forum_replies_update_own ON forum_replies FOR UPDATE
    USING (author_clerk_id = current_setting('learnstore.clerk_id', true))
    WITH CHECK (author_clerk_id = current_setting('learnstore.clerk_id', true));
CREATE POLICY forum_replies_delete_own ON forum_replies FOR DELETE USING (author_clerk_id = current_setting('learnstore.clerk_id', true));
ALTER TABLE forum_post_likes ENABLE ROW LEVEL SECURITY;
CREATE POLICY forum_post_likes_read ON forum_post_likes FOR SELECT USING (true);
CREATE POLICY forum_post_likes_insert_own ON forum_post_likes FOR INSERT WITH CHECK (user_clerk_id = current_setting('learnstore.clerk_id', true));
CREATE POLICY forum_post_likes_update_own ON forum_post_likes FOR UPDATE
    USING (user_clerk_id = current_setting('learnstore.clerk_id', true))
    WITH CHECK (user_clerk_id = current_setting('learnstore.clerk_id', true));
CREATE POLICY forum_post_likes_delete_own ON forum_post_likes FOR DELETE USING (user_clerk_id = current_setting('learnstore.clerk_id', true));
ALTER TABLE forum_reply_likes ENABLE ROW LEVEL SECURITY;
CREATE POLICY forum_reply_likes_read ON forum_reply_likes FOR SELECT USING (true);
CREATE POLICY forum_reply_likes_insert_own ON forum_reply_likes FOR INSERT WITH CHECK (user_clerk_id = current_setting('learnstore.clerk_id', true));
CREATE POLICY forum_reply_likes_update_own ON forum_reply_likes FOR UPDATE
    USING (user_clerk_id = current_setting('learnstore.clerk_id', true))
    WITH CHECK (user_clerk_id = current_setting('learnstore.clerk_id', true));
CREATE POLICY forum_reply_likes_delete_own ON forum_reply_likes FOR DELETE USING (user_clerk_id = current_setting('learnstore.clerk_id', true));
ALTER TABLE course_feedback ENABLE ROW LEVEL SECURITY;
CREATE POLICY course_feedback_read ON course_feedback FOR SELECT USING (true);
CREATE POLICY course_feedback_insert_own ON course_feedback FOR INSERT WITH CHECK (user_clerk_id = current_setting('learnstore.clerk_id', true));
CREATE POLICY course_feedback_update_own ON course_feedback FOR UPDATE
    USING (user_clerk_id = current_setting('learnstore.clerk_id', true))
    WITH CHECK (user_clerk_id = current_setting('learnstore.clerk_id', true));
CREATE POLICY course_feedback_delete_own ON course_feedback FOR DELETE USING (user_clerk_id = current_setting('learnstore.clerk_id', true));
ALTER TABLE feedback_upvotes ENABLE ROW LEVEL SECURITY;
CREATE POLICY feedback_upvotes_read ON feedback_upvotes FOR SELECT USING (true);
CREATE POLICY feedback_upvotes_insert_own ON feedback_upvotes FOR INSERT WITH CHECK (user_clerk_id = current_setting('learnstore.clerk_id', true));
CREATE POLICY feedback_upvotes_update_own ON feedback_upvotes FOR UPDATE
    USING (user_clerk_id = current_setting('learnstore.clerk_id', true))
    WITH CHECK (user_clerk_id = current_setting('learnstore.clerk_id', true));
CREATE POLICY feedback_upvotes_delete_own ON feedback_upvotes FOR DELETE USING (user_clerk_id = current_setting('learnstore.clerk_id', true));
ALTER TABLE flashcard_sets ENABLE ROW LEVEL SECURITY;
CREATE POLICY flashcard_sets_read ON flashcard_sets FOR SELECT USING (is_public OR owner_clerk_id = current_setting('learnstore.clerk_id', true));
CREATE POLICY flashcard_sets_insert_own ON flashcard_sets FOR INSERT WITH CHECK (owner_clerk_id = current_setting('learnstore.clerk_id', true));
CREATE POLICY flashcard_sets_update_own ON flashcard_sets FOR UPDATE
    USING (owner_clerk_id = current_setting('learnstore.clerk_id', true))
    WITH CHECK (owner_clerk_id = current_setting('learnstore.clerk_id', true));
CREATE POLICY flashcard_sets_delete_own ON flashcard_sets FOR DELETE USING (owner_clerk_id = current_setting('learnstore.clerk_id', true));

-- Signed webhook deliveries applied so far: a replayed delivery (same svix-id) is applied once.
CREATE TABLE webhook_deliveries (
    id         uuid        NOT NULL DEFAULT gen_random_uuid(),
    svix_id    text        NOT NULL,
    event_type text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id),
    CONSTRAINT webhook_deliveries_svix_id_key UNIQUE (svix_id),
    CONSTRAINT webhook_deliveries_svix_id_format CHECK (is_not_blank(svix_id) AND char_length(svix_id) <= 200),
    CONSTRAINT webhook_deliveries_event_type_format CHECK (is_not_blank(event_type) AND char_length(event_type) <= 200)
);
COMMENT ON TABLE webhook_deliveries IS 'A verified webhook delivery (Svix message id) already applied, so a replay is applied once.';
CREATE TRIGGER webhook_deliveries_set_updated_at BEFORE UPDATE ON webhook_deliveries
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
-- The service path applies webhooks; a user's view has no business with the ledger.
REVOKE ALL ON webhook_deliveries FROM learnstore_app;

-- Row-level security for the tables of the flashcard review log and favorites (migration 0007), which
-- came after the policies of 0009: both are private (learnstore.security.PRIVATE_TABLES).
ALTER TABLE flashcard_reviews ENABLE ROW LEVEL SECURITY;
CREATE POLICY flashcard_reviews_own_rows ON flashcard_reviews
    USING (user_clerk_id = current_setting('learnstore.clerk_id', true))
    WITH CHECK (user_clerk_id = current_setting('learnstore.clerk_id', true));
ALTER TABLE favorites ENABLE ROW LEVEL SECURITY;
CREATE POLICY favorites_own_rows ON favorites
    USING (user_clerk_id = current_setting('learnstore.clerk_id', true))
    WITH CHECK (user_clerk_id = current_setting('learnstore.clerk_id', true));

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
