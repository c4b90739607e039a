-- Undo 0013_permission_model: the policies and the blanket grant of 0009-0011 come back.
DROP POLICY achievements_admin_delete ON achievements;
DROP POLICY achievements_admin_insert ON achievements;
DROP POLICY achievements_admin_update ON achievements;
DROP POLICY achievements_anyone_select ON achievements;
DROP POLICY collaborators_course_author_delete ON collaborators;
DROP POLICY collaborators_course_author_insert ON collaborators;
DROP POLICY collaborators_course_author_update ON collaborators;
DROP POLICY collaborators_own_delete ON collaborators;
DROP POLICY collaborators_own_update ON collaborators;
DROP POLICY collaborators_team_select ON collaborators;
DROP POLICY course_feedback_anyone_select ON course_feedback;
DROP POLICY course_feedback_own_delete ON course_feedback;
DROP POLICY course_feedback_own_insert ON course_feedback;
DROP POLICY course_feedback_own_update ON course_feedback;
DROP POLICY course_tags_anyone_select ON course_tags;
DROP POLICY course_tags_editors_delete ON course_tags;
DROP POLICY course_tags_editors_insert ON course_tags;
DROP POLICY courses_admin_delete ON courses;
DROP POLICY courses_admin_update ON courses;
DROP POLICY courses_anyone_lock ON courses;
DROP POLICY courses_anyone_select ON courses;
DROP POLICY courses_author_delete ON courses;
DROP POLICY courses_own_insert ON courses;
DROP POLICY courses_team_update ON courses;
DROP POLICY favorites_own_delete ON favorites;
DROP POLICY favorites_own_insert ON favorites;
DROP POLICY favorites_own_select ON favorites;
DROP POLICY favorites_own_update ON favorites;
DROP POLICY feedback_upvotes_anyone_select ON feedback_upvotes;
DROP POLICY feedback_upvotes_own_delete ON feedback_upvotes;
DROP POLICY feedback_upvotes_own_insert ON feedback_upvotes;
DROP POLICY flashcard_reviews_own_delete ON flashcard_reviews;
DROP POLICY flashcard_reviews_own_insert ON flashcard_reviews;
DROP POLICY flashcard_reviews_own_select ON flashcard_reviews;
DROP POLICY flashcard_reviews_own_update ON flashcard_reviews;
DROP POLICY flashcard_sets_own_delete ON flashcard_sets;
DROP POLICY flashcard_sets_own_insert ON flashcard_sets;
DROP POLICY flashcard_sets_own_update ON flashcard_sets;
DROP POLICY flashcard_sets_public_or_own_select ON flashcard_sets;
DROP POLICY flashcards_own_delete ON flashcards;
DROP POLICY flashcards_own_insert ON flashcards;
DROP POLICY flashcards_own_update ON flashcards;
DROP POLICY flashcards_public_or_own_select ON flashcards;
DROP POLICY forum_post_likes_anyone_select ON forum_post_likes;
DROP POLICY forum_post_likes_own_delete ON forum_post_likes;
DROP POLICY forum_post_likes_own_insert ON forum_post_likes;
DROP POLICY forum_posts_anyone_select ON forum_posts;
DROP POLICY forum_posts_course_author_delete ON forum_posts;
DROP POLICY forum_posts_course_author_update ON forum_posts;
DROP POLICY forum_posts_own_delete ON forum_posts;
DROP POLICY forum_posts_own_insert ON forum_posts;
DROP POLICY forum_posts_own_update ON forum_posts;
DROP POLICY forum_replies_anyone_select ON forum_replies;
DROP POLICY forum_replies_course_author_delete ON forum_replies;
DROP POLICY forum_replies_course_author_update ON forum_replies;
DROP POLICY forum_replies_own_delete ON forum_replies;
DROP POLICY forum_replies_own_insert ON forum_replies;
DROP POLICY forum_replies_own_update ON forum_replies;
DROP POLICY forum_reply_likes_anyone_select ON forum_reply_likes;
DROP POLICY forum_reply_likes_own_delete ON forum_reply_likes;
DROP POLICY forum_reply_likes_own_insert ON forum_reply_likes;
DROP POLICY languages_admin_delete ON languages;
DROP POLICY languages_admin_insert ON languages;
DROP POLICY languages_admin_update ON languages;
DROP POLICY languages_anyone_select ON languages;
DROP POLICY learning_goals_own_delete ON learning_goals;
DROP POLICY learning_goals_own_insert ON learning_goals;
DROP POLICY learning_goals_own_select ON learning_goals;
DROP POLICY learning_goals_own_update ON learning_goals;
DROP POLICY lessons_anyone_lock ON lessons;
DROP POLICY lessons_anyone_select ON lessons;
DROP POLICY lessons_editors_delete ON lessons;
DROP POLICY lessons_editors_insert ON lessons;
DROP POLICY lessons_team_update ON lessons;
DROP POLICY login_days_own_delete ON login_days;
DROP POLICY login_days_own_insert ON login_days;
DROP POLICY login_days_own_select ON login_days;
DROP POLICY login_days_own_update ON login_days;
DROP POLICY media_anyone_select ON media;
DROP POLICY media_editors_delete ON media;
DROP POLICY media_editors_insert ON media;
DROP POLICY media_editors_update ON media;
DROP POLICY notifications_course_author_insert ON notifications;
DROP POLICY notifications_forum_actor_insert ON notifications;
DROP POLICY notifications_own_delete ON notifications;
DROP POLICY notifications_own_insert ON notifications;
DROP POLICY notifications_own_select ON notifications;
DROP POLICY notifications_own_update ON notifications;
DROP POLICY quiz_attempts_own_delete ON quiz_attempts;
DROP POLICY quiz_attempts_own_insert ON quiz_attempts;
DROP POLICY quiz_attempts_own_select ON quiz_attempts;
DROP POLICY quiz_attempts_own_update ON quiz_attempts;
DROP POLICY quizzes_anyone_select ON quizzes;
DROP POLICY quizzes_editors_delete ON quizzes;
DROP POLICY quizzes_editors_insert ON quizzes;
DROP POLICY quizzes_editors_update ON quizzes;
DROP POLICY suggested_edits_own_insert ON suggested_edits;
DROP POLICY suggested_edits_reviewers_update ON suggested_edits;
DROP POLICY suggested_edits_team_select ON suggested_edits;
DROP POLICY tags_admin_delete ON tags;
DROP POLICY tags_admin_insert ON tags;
DROP POLICY tags_admin_update ON tags;
DROP POLICY tags_anyone_select ON tags;
DROP POLICY tags_editors_insert ON tags;
DROP POLICY units_anyone_select ON units;
DROP POLICY units_editors_delete ON units;
DROP POLICY units_editors_insert ON units;
DROP POLICY units_editors_update ON units;
DROP POLICY user_achievements_own_select ON user_achievements;
DROP POLICY user_courses_own_delete ON user_courses;
DROP POLICY user_courses_own_insert ON user_courses;
DROP POLICY user_courses_own_select ON user_courses;
DROP POLICY user_courses_own_update ON user_courses;
DROP POLICY user_flashcard_progress_own_delete ON user_flashcard_progress;
DROP POLICY user_flashcard_progress_own_insert ON user_flashcard_progress;
DROP POLICY user_flashcard_progress_own_select ON user_flashcard_progress;
DROP POLICY user_flashcard_progress_own_update ON user_flashcard_progress;
DROP POLICY user_points_anyone_select ON user_points;
DROP POLICY user_progress_own_delete ON user_progress;
DROP POLICY user_progress_own_insert ON user_progress;
DROP POLICY user_progress_own_select ON user_progress;
DROP POLICY user_progress_own_update ON user_progress;
DROP POLICY user_streaks_own_delete ON user_streaks;
DROP POLICY user_streaks_own_insert ON user_streaks;
DROP POLICY user_streaks_own_select ON user_streaks;
DROP POLICY user_streaks_own_update ON user_streaks;
DROP POLICY users_anyone_select ON users;
DROP POLICY users_own_delete ON users;
DROP POLICY users_own_update ON users;
ALTER TABLE achievements DISABLE ROW LEVEL SECURITY;
ALTER TABLE collaborators DISABLE ROW LEVEL SECURITY;
ALTER TABLE course_tags DISABLE ROW LEVEL SECURITY;
ALTER TABLE courses DISABLE ROW LEVEL SECURITY;
ALTER TABLE flashcards DISABLE ROW LEVEL SECURITY;
ALTER TABLE languages DISABLE ROW LEVEL SECURITY;
ALTER TABLE lessons DISABLE ROW LEVEL SECURITY;
ALTER TABLE media DISABLE ROW LEVEL SECURITY;
ALTER TABLE quizzes DISABLE ROW LEVEL SECURITY;
ALTER TABLE suggested_edits DISABLE ROW LEVEL SECURITY;
ALTER TABLE tags DISABLE ROW LEVEL SECURITY;
ALTER TABLE units DISABLE ROW LEVEL SECURITY;
ALTER TABLE user_points DISABLE ROW LEVEL SECURITY;
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

ALTER TABLE flashcard_reviews ENABLE ROW LEVEL SECURITY;
CREATE POLICY flashcard_reviews_own_rows ON flashcard_reviews
    USING (user_clerk_id = current_setting('learnstore.clerk_id', true))
    WITH CHECK (user_clerk_id = current_setting('learnstore.clerk_id', true));
ALTER TABLE favorites ENABLE ROW LEVEL SECURITY;
CREATE POLICY favorites_own_rows ON favorites
    USING (user_clerk_id = current_setting('learnstore.clerk_id', true))
    WITH CHECK (user_clerk_id = current_setting('learnstore.clerk_id', true));

-- A learner's forum action notifies others (a reply the post's author, a like the liked, a mention
-- the mentioned) in the statement of the action: under as_user() such a row may be inserted for
-- another user, and only such a row (no system notices in someone else's name).
CREATE POLICY notifications_forum_activity ON notifications FOR INSERT
    WITH CHECK (type IN ('reply', 'mention', 'like') AND source_type IN ('forum_post', 'forum_reply'));
DO $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT c.relname FROM pg_class c
             WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
               AND c.relname !~ '^(_yoyo_|yoyo_lock$)' AND c.relname NOT IN ('webhook_deliveries', 'site_roles')
    LOOP
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO learnstore_app', t);
    END LOOP;
END
$$;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON user_points FROM learnstore_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO learnstore_app;
ALTER FUNCTION achievement_metrics(p_user_clerk_ids text[], p_kinds text[], p_course_ids uuid[]) RESET search_path;
ALTER FUNCTION achievement_requirement_is_valid(p_rule jsonb, p_depth integer) RESET search_path;
ALTER FUNCTION achievement_requirement_kinds(p_rule jsonb) RESET search_path;
ALTER FUNCTION achievement_score(p_rule jsonb, p_metrics jsonb) RESET search_path;
ALTER FUNCTION achievements_change_points() RESET search_path;
ALTER FUNCTION achievements_remove_points() RESET search_path;
ALTER FUNCTION add_flashcard(p_owner text, p_set_id uuid, p_front text, p_back text, p_position integer) RESET search_path;
ALTER FUNCTION add_lesson(p_unit_id uuid, p_title text, p_content_type text, p_content jsonb, p_duration_seconds integer, p_position integer) RESET search_path;
ALTER FUNCTION add_unit(p_course_id uuid, p_title text, p_description text, p_position integer) RESET search_path;
ALTER FUNCTION add_user_points(p_user_clerk_ids text[], p_points bigint[], p_achievements bigint[]) RESET search_path;
ALTER FUNCTION assert_may_edit_course(p_course_id uuid, p_clerk_id text) RESET search_path;
ALTER FUNCTION content_position(p_position integer, p_last integer) RESET search_path;
ALTER FUNCTION count_learners_above(p_points integer, p_course_id uuid) RESET search_path;
ALTER FUNCTION course_rating_score(p_rating_sum bigint, p_rating_count bigint) RESET search_path;
ALTER FUNCTION course_role(p_course_id uuid, p_clerk_id text) RESET search_path;
ALTER FUNCTION delete_flashcard(p_owner text, p_flashcard_id uuid) RESET search_path;
ALTER FUNCTION delete_lesson(p_lesson_id uuid) RESET search_path;
ALTER FUNCTION delete_unit(p_unit_id uuid) RESET search_path;
ALTER FUNCTION enrol_in_course(p_user_clerk_id text, p_course_id uuid) RESET search_path;
ALTER FUNCTION flashcards_append() RESET search_path;
ALTER FUNCTION forum_evaluate_achievements() RESET search_path;
ALTER FUNCTION is_not_blank(s text) RESET search_path;
ALTER FUNCTION is_time_zone(tz text) RESET search_path;
ALTER FUNCTION learning_goals_evaluate_achievements() RESET search_path;
ALTER FUNCTION lessons_refresh_enrolments() RESET search_path;
ALTER FUNCTION lock_course_content(p_course_id uuid) RESET search_path;
ALTER FUNCTION lock_flashcard_set(p_set_id uuid, p_owner text) RESET search_path;
ALTER FUNCTION move_flashcard(p_owner text, p_flashcard_id uuid, p_position integer) RESET search_path;
ALTER FUNCTION move_lesson(p_lesson_id uuid, p_unit_id uuid, p_position integer) RESET search_path;
ALTER FUNCTION move_unit(p_unit_id uuid, p_position integer) RESET search_path;
ALTER FUNCTION quiz_answer_is_correct(p_question_type text, p_correct_answer jsonb, p_answer jsonb) RESET search_path;
ALTER FUNCTION quiz_attempts_evaluate_achievements() RESET search_path;
ALTER FUNCTION recompute_enrolments(p_course_ids uuid[], p_user_clerk_id text) RESET search_path;
ALTER FUNCTION recompute_streak(p_user_clerk_id text) RESET search_path;
ALTER FUNCTION record_activity(p_user_clerk_id text, p_at timestamp with time zone) RESET search_path;
ALTER FUNCTION reorder_flashcards(p_owner text, p_set_id uuid, p_ids uuid[]) RESET search_path;
ALTER FUNCTION set_lesson_status(p_user_clerk_id text, p_lesson_id uuid, p_status text) RESET search_path;
ALTER FUNCTION set_updated_at() RESET search_path;
ALTER FUNCTION unenrol_from_course(p_user_clerk_id text, p_course_id uuid) RESET search_path;
ALTER FUNCTION units_refresh_enrolments() RESET search_path;
ALTER FUNCTION user_achievements_add_points() RESET search_path;
ALTER FUNCTION user_courses_evaluate_achievements() RESET search_path;
ALTER FUNCTION user_flashcard_progress_evaluate_achievements() RESET search_path;
ALTER FUNCTION user_progress_evaluate_achievements() RESET search_path;
ALTER FUNCTION user_streaks_evaluate_achievements() RESET search_path;
ALTER FUNCTION forum_evaluate_achievements() SECURITY INVOKER;
ALTER FUNCTION learning_goals_evaluate_achievements() SECURITY INVOKER;
ALTER FUNCTION quiz_attempts_evaluate_achievements() SECURITY INVOKER;
ALTER FUNCTION user_courses_evaluate_achievements() SECURITY INVOKER;
ALTER FUNCTION user_flashcard_progress_evaluate_achievements() SECURITY INVOKER;
ALTER FUNCTION user_progress_evaluate_achievements() SECURITY INVOKER;
ALTER FUNCTION user_streaks_evaluate_achievements() SECURITY INVOKER;
ALTER FUNCTION achievements_change_points() SECURITY INVOKER;
ALTER FUNCTION achievements_remove_points() SECURITY INVOKER;
ALTER FUNCTION user_achievements_add_points() SECURITY INVOKER;
GRANT EXECUTE ON FUNCTION evaluate_achievements(text[], uuid, text[]) TO PUBLIC;
GRANT EXECUTE ON FUNCTION add_user_points(text[], bigint[], bigint[]) TO PUBLIC;
REVOKE EXECUTE ON FUNCTION refresh_course_enrolments(uuid[]) FROM learnstore_app;
GRANT EXECUTE ON FUNCTION refresh_course_enrolments(uuid[]) TO PUBLIC;
CREATE OR REPLACE FUNCTION assert_may_edit_course(p_course_id uuid, p_clerk_id text) RETURNS uuid
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_author text;
BEGIN
    SELECT author_clerk_id INTO v_author FROM courses WHERE id = p_course_id FOR KEY SHARE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF v_author = p_clerk_id THEN
        RETURN p_course_id;
    END IF;
    PERFORM FROM collaborators
    WHERE course_id = p_course_id AND user_clerk_id = p_clerk_id AND status = 'accepted' AND role = 'editor'
    FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'user % may not change course %: only its author or an accepted editor may',
            p_clerk_id, p_course_id
            USING ERRCODE = 'insufficient_privilege', HINT = 'acting_clerk_id';
    END IF;
    RETURN p_course_id;
END
$$;
DROP TRIGGER collaborators_guard_role ON collaborators;
DROP FUNCTION collaborators_guard_role();
DROP FUNCTION learnstore_edits_any_course();
DROP FUNCTION learnstore_team_courses(text[]);
DROP POLICY site_roles_admin_delete ON site_roles;
DROP POLICY site_roles_admin_insert ON site_roles;
DROP POLICY site_roles_own_or_admin_select ON site_roles;
DROP FUNCTION learnstore_has_site_role(text);
DROP TABLE site_roles;
DROP FUNCTION learnstore_actor();
