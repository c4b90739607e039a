-- Undo 0009_row_level_security. The role learnstore_app stays: roles belong to the cluster, and
-- other databases on it may still use it (`learnstore roles --drop` removes it once none does).
DROP TABLE webhook_deliveries;
DROP POLICY flashcard_sets_read ON flashcard_sets;
DROP POLICY flashcard_sets_insert_own ON flashcard_sets;
DROP POLICY flashcard_sets_update_own ON flashcard_sets;
DROP POLICY flashcard_sets_delete_own ON flashcard_sets;
ALTER TABLE flashcard_sets DISABLE ROW LEVEL SECURITY;
DROP POLICY feedback_upvotes_read ON feedback_upvotes;
DROP POLICY feedback_upvotes_insert_own ON feedback_upvotes;
DROP POLICY feedback_upvotes_update_own ON feedback_upvotes;
DROP POLICY feedback_upvotes_delete_own ON feedback_upvotes;
ALTER TABLE feedback_upvotes DISABLE ROW LEVEL SECURITY;
DROP POLICY course_feedback_read ON course_feedback;
DROP POLICY course_feedback_insert_own ON course_feedback;
DROP POLICY course_feedback_update_own ON course_feedback;
DROP POLICY course_feedback_delete_own ON course_feedback;
ALTER TABLE course_feedback DISABLE ROW LEVEL SECURITY;
DROP POLICY forum_reply_likes_read ON forum_reply_likes;
DROP POLICY forum_reply_likes_insert_own ON forum_reply_likes;
DROP POLICY forum_reply_likes_update_own ON forum_reply_likes;
DROP POLICY forum_reply_likes_delete_own ON forum_reply_likes;
ALTER TABLE forum_reply_likes DISABLE ROW LEVEL SECURITY;
DROP POLICY forum_post_likes_read ON forum_post_likes;
DROP POLICY forum_post_likes_insert_own ON forum_post_likes;
DROP POLICY forum_post_likes_update_own ON forum_post_likes;
DROP POLICY forum_post_likes_delete_own ON forum_post_likes;
ALTER TABLE forum_post_likes DISABLE ROW LEVEL SECURITY;
DROP POLICY forum_replies_read ON forum_replies;
DROP POLICY forum_replies_insert_own ON forum_replies;
DROP POLICY forum_replies_update_own ON forum_replies;
DROP POLICY forum_replies_delete_own ON forum_replies;
ALTER TABLE forum_replies DISABLE ROW LEVEL SECURITY;
DROP POLICY forum_posts_read ON forum_posts;
DROP POLICY forum_posts_insert_own ON forum_posts;
DROP POLICY forum_posts_update_own ON forum_posts;
DROP POLICY forum_posts_delete_own ON forum_posts;
ALTER TABLE forum_posts DISABLE ROW LEVEL SECURITY;
DROP POLICY users_read ON users;
DROP POLICY users_update_own ON users;
DROP POLICY users_delete_own ON users;
ALTER TABLE users DISABLE ROW LEVEL SECURITY;
DROP POLICY user_flashcard_progress_own_rows ON user_flashcard_progress;
ALTER TABLE user_flashcard_progress DISABLE ROW LEVEL SECURITY;
DROP POLICY user_achievements_own_rows ON user_achievements;
ALTER TABLE user_achievements DISABLE ROW LEVEL SECURITY;
DROP POLICY user_progress_own_rows ON user_progress;
ALTER TABLE user_progress DISABLE ROW LEVEL SECURITY;
DROP POLICY user_courses_own_rows ON user_courses;
ALTER TABLE user_courses DISABLE ROW LEVEL SECURITY;
DROP POLICY quiz_attempts_own_rows ON quiz_attempts;
ALTER TABLE quiz_attempts DISABLE ROW LEVEL SECURITY;
DROP POLICY notifications_own_rows ON notifications;
ALTER TABLE notifications DISABLE ROW LEVEL SECURITY;
DROP POLICY learning_goals_own_rows ON learning_goals;
ALTER TABLE learning_goals DISABLE ROW LEVEL SECURITY;
DROP POLICY login_days_own_rows ON login_days;
ALTER TABLE login_days DISABLE ROW LEVEL SECURITY;
DROP POLICY user_streaks_own_rows ON user_streaks;
ALTER TABLE user_streaks DISABLE ROW LEVEL SECURITY;
ALTER FUNCTION refresh_course_enrolments(uuid[]) SECURITY INVOKER RESET search_path;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM learnstore_app;
DO $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT c.relname FROM pg_class c
             WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
    LOOP
        EXECUTE format('REVOKE ALL ON %I FROM learnstore_app', t);
    END LOOP;
END
$$;
REVOKE USAGE ON SCHEMA public FROM learnstore_app;
